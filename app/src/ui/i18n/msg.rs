//! A line for the user that is worded when it is shown, so it follows a language switch.
//!
//! States keep a [`Msg`] where they would keep a `String`: it remembers the facts (a file name, an
//! error detail from the worker) and words them with the current language's [`Text`] each time the
//! page renders it.

use std::fmt;
use std::sync::Arc;

use super::Text;

#[derive(Clone)]
pub struct Msg(Arc<dyn Fn(&'static Text) -> String + Send + Sync>);

impl Msg {
    pub fn new(word: impl Fn(&'static Text) -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(word))
    }

    /// The line in the language of `t`.
    pub fn render(&self, t: &'static Text) -> String {
        (self.0)(t)
    }
}

impl fmt::Debug for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Msg({:?})", self.render(&super::EN))
    }
}
