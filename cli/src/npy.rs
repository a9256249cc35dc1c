use std::path::Path;

/// Write a 1-D little-endian float32 array in NumPy's .npy format (version 1.0).
pub fn write_f32(path: &Path, values: &[f32]) -> Result<(), String> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}", values.len());
    // magic (6) + version (2) + header length (2) + header + '\n' must be a multiple of 64
    let pad = 64 - (10 + header.len() + 1) % 64;
    header.push_str(&" ".repeat(pad % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + values.len() * 4);
    out.extend(b"\x93NUMPY\x01\x00");
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    values.iter().for_each(|v| out.extend(v.to_le_bytes()));
    std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip() {
        let path = std::env::temp_dir().join(format!("tiller-npy-{}.npy", std::process::id()));
        let v = vec![1.5f32, -2.0, 3.25];
        super::write_f32(&path, &v).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!((10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize) % 64, 0);
        let data: Vec<f32> =
            bytes[bytes.len() - 12..].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        assert_eq!(data, v);
        assert!(std::str::from_utf8(&bytes[10..bytes.len() - 12]).unwrap().contains("'shape': (3,)"));
        std::fs::remove_file(path).unwrap();
    }
}
