//! A file's bytes held once, for everything loaded from it.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// The bytes of a GGUF file, shared: matrices loaded from a [`super::Gguf`] parsed with
/// [`super::Gguf::parse_shared`] keep ranges of these bytes instead of copies of their blocks,
/// so a loaded model holds its weights once (in a browser, wasm memory never shrinks: a copy
/// made while loading stays for the life of the worker).
#[derive(Clone)]
pub struct SharedBytes(Arc<Vec<u8>>);

impl From<Vec<u8>> for SharedBytes {
    /// Takes the vector as it is (an `Arc<[u8]>` would copy it).
    fn from(bytes: Vec<u8>) -> Self {
        Self(Arc::new(bytes))
    }
}

impl Deref for SharedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.0.len())
    }
}
