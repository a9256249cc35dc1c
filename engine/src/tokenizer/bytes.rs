//! GPT-2's reversible map between bytes and characters.
//!
//! Byte-level BPE vocabularies spell every token with one printable character per byte, so that
//! no token text contains whitespace or control characters: printable Latin-1 bytes stand for
//! themselves and the other 68 bytes borrow the characters from U+0100 on, in byte order.

const fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The bytes that borrow U+0100 + i, in order.
const BORROWED: [u8; 68] = {
    let mut t = [0u8; 68];
    let (mut b, mut n) = (0usize, 0usize);
    while b < 256 {
        if !is_printable(b as u8) {
            t[n] = b as u8;
            n += 1;
        }
        b += 1;
    }
    t
};

const BYTE_TO_CHAR: [char; 256] = {
    let mut t = ['\0'; 256];
    let mut n = 0u32;
    let mut b = 0usize;
    while b < 256 {
        let cp = if is_printable(b as u8) {
            b as u32
        } else {
            n += 1;
            0xFF + n
        };
        t[b] = match char::from_u32(cp) {
            Some(c) => c,
            None => panic!("every code point below U+0200 is a char"),
        };
        b += 1;
    }
    t
};

pub(crate) fn byte_to_char(b: u8) -> char {
    BYTE_TO_CHAR[b as usize]
}

pub(crate) fn char_to_byte(c: char) -> Option<u8> {
    let cp = c as u32;
    match u8::try_from(cp) {
        Ok(b) if is_printable(b) => Some(b),
        Ok(_) => None,
        Err(_) => cp.checked_sub(0x100).and_then(|i| BORROWED.get(i as usize)).copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(char_to_byte(byte_to_char(b)), Some(b));
        }
    }

    #[test]
    fn known_characters() {
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(byte_to_char(0xAD), 'Ń');
        assert_eq!(char_to_byte('\u{144}'), None);
        assert_eq!(char_to_byte(' '), None);
    }
}
