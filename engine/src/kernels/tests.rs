//! Every kernel against the scalar reference, and the packed product against the f32 product
//! of the dequantized matrix.

use half::f16;

use super::*;
use crate::gguf::{TensorType, dequant::dequantize};

/// xorshift64*: reproducible test data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [−1, 1).
    fn f(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// GGUF bytes of a random `rows × cols` matrix of type `ty`.
fn random_tensor(ty: TensorType, rows: usize, cols: usize, rng: &mut Rng) -> Vec<u8> {
    let mut b = Vec::new();
    let half = |v: f32| f16::from_f32(v).to_le_bytes();
    for _ in 0..rows * cols / if matches!(ty, TensorType::F16 | TensorType::F32) { 1 } else { QK } {
        match ty {
            TensorType::Q4_0 => {
                b.extend(half(0.01 + 0.05 * rng.f().abs()));
                b.extend((0..16).map(|_| rng.next() as u8));
            }
            TensorType::Q4_1 => {
                b.extend(half(0.01 + 0.05 * rng.f().abs()));
                b.extend(half(-0.4 * rng.f().abs()));
                b.extend((0..16).map(|_| rng.next() as u8));
            }
            TensorType::Q8_0 => {
                b.extend(half(0.002 + 0.01 * rng.f().abs()));
                b.extend((0..32).map(|_| rng.next() as u8));
            }
            TensorType::F16 => b.extend(half(rng.f())),
            TensorType::F32 => b.extend(rng.f().to_le_bytes()),
            TensorType::Other(_) => unreachable!(),
        }
    }
    b
}

/// x · Wᵀ in f64 from the dequantized matrix.
fn reference(w: &[f32], x: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let n = x.len() / cols;
    let mut out = vec![0f32; n * rows];
    for i in 0..n {
        for r in 0..rows {
            let dot: f64 = (0..cols).map(|c| w[r * cols + c] as f64 * x[i * cols + c] as f64).sum();
            out[i * rows + r] = dot as f32;
        }
    }
    out
}

const TYPES: [TensorType; 5] = [TensorType::Q4_0, TensorType::Q4_1, TensorType::Q8_0, TensorType::F16, TensorType::F32];

#[test]
fn every_isa_matches_the_scalar_kernels_and_the_f32_product() {
    let mut rng = Rng(0x7411e7);
    let (rows, cols) = (67, 192);
    for ty in TYPES {
        let bytes = random_tensor(ty, rows, cols, &mut rng);
        let m = PackedMatrix::from_gguf(ty, &bytes, rows, cols).unwrap();
        let dense = dequantize(ty, &bytes, rows * cols).unwrap();
        // 1 (decode), 2 and 3 (Compare: one pass over the weights), 4 (one group), 7 (a group
        // and a remainder)
        for n in [1, 2, 3, 4, 7] {
            // Activations like a residual stream's: mostly small, a few large outliers.
            let x: Vec<f32> = (0..n * cols).map(|i| if i % 61 == 0 { 40.0 * rng.f() } else { rng.f() }).collect();
            let want = reference(&dense, &x, rows, cols);
            let scalar = m.matmul(&x, Isa::Scalar);
            let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
            for (i, (s, w)) in scalar.iter().zip(&want).enumerate() {
                // 16-bit activations: ~1e-4 of the largest output.
                assert!((s - w).abs() <= 2e-4 * scale, "{ty:?} n={n} [{i}]: {s} vs f32 product {w}");
            }
            for isa in Isa::all() {
                let fast = m.matmul(&x, isa);
                for (i, (s, f)) in scalar.iter().zip(&fast).enumerate() {
                    // Same integers, other summation order: f32 rounding only.
                    assert!((s - f).abs() <= 1e-5 * scale, "{ty:?} n={n} [{i}]: {} {f} vs scalar {s}", isa.name());
                }
            }
        }
    }
}

/// Rows repacked sixteen at a time (AVX-512's layout) widen to ggml's rows again, and every
/// instruction set's product over them is the scalar product of the file's layout, at every
/// width (the AVX-512 kernel takes activation rows four at a time).
#[test]
fn row_groups_hold_the_files_rows_and_products() {
    let mut rng = Rng(0x16);
    let (rows, cols) = (48, 192);
    for ty in [TensorType::Q4_0, TensorType::Q4_1, TensorType::Q8_0] {
        let m = PackedMatrix::from_gguf(ty, &random_tensor(ty, rows, cols, &mut rng), rows, cols).unwrap();
        let grouped = m.clone().in_row_groups();
        assert!(grouped.is_in_row_groups());
        assert_eq!(grouped.size_bytes(), m.size_bytes(), "{ty:?}: the same bytes, reordered");
        for r in 0..rows {
            assert_eq!(grouped.row_f32(r), m.row_f32(r), "{ty:?} row {r}");
        }
        assert_eq!(grouped.affine_blocks().unwrap().words, m.affine_blocks().unwrap().words, "{ty:?}");
        for n in [1, 2, 3, 4, 5, 9, 40] {
            let x: Vec<f32> = (0..n * cols).map(|i| if i % 61 == 0 { 40.0 * rng.f() } else { rng.f() }).collect();
            let scalar = m.matmul_integer(&x, n, Isa::Scalar);
            let scale = scalar.iter().fold(0f32, |a, v| a.max(v.abs()));
            for isa in Isa::all() {
                let got = grouped.matmul(&x, isa);
                for (i, (s, g)) in scalar.iter().zip(&got).enumerate() {
                    assert!((s - g).abs() <= 1e-5 * scale, "{ty:?} n={n} [{i}]: {} {g} vs scalar {s}", isa.name());
                }
            }
        }
    }
    // The largest integer sums a kernel meets: every nibble 15 against activations that all
    // quantize to ±32767.
    for (ty, head) in [(TensorType::Q4_0, 2), (TensorType::Q4_1, 4)] {
        let mut bytes = random_tensor(ty, rows, cols, &mut rng);
        for block in bytes.chunks_exact_mut(head + QK / 2) {
            block[head..].fill(0xff);
        }
        let m = PackedMatrix::from_gguf(ty, &bytes, rows, cols).unwrap();
        let grouped = m.clone().in_row_groups();
        for sign in [1.0, -1.0] {
            let x = vec![sign; 3 * cols];
            let scalar = m.matmul_integer(&x, 3, Isa::Scalar);
            for isa in Isa::all() {
                for (i, (s, g)) in scalar.iter().zip(&grouped.matmul(&x, isa)).enumerate() {
                    assert!((s - g).abs() <= 1e-5 * s.abs(), "{ty:?} [{i}]: {} {g} vs scalar {s}", isa.name());
                }
            }
        }
    }
    // A matrix of a partial group keeps the file's layout.
    let odd = PackedMatrix::from_gguf(TensorType::Q4_1, &random_tensor(TensorType::Q4_1, 20, 64, &mut rng), 20, 64);
    let odd = odd.unwrap();
    assert!(!odd.in_row_groups().is_in_row_groups());
}

/// The wide-batch path (f32 tiles through a GEMM) is the f32 product of the dequantized
/// matrix, over several tiles and a partial one.
#[test]
fn wide_batches_are_the_f32_product() {
    let mut rng = Rng(0x51de);
    let (rows, cols, n) = (300, 96, 40);
    for ty in TYPES {
        let bytes = random_tensor(ty, rows, cols, &mut rng);
        let m = PackedMatrix::from_gguf(ty, &bytes, rows, cols).unwrap();
        let dense = dequantize(ty, &bytes, rows * cols).unwrap();
        let x: Vec<f32> = (0..n * cols).map(|i| if i % 61 == 0 { 40.0 * rng.f() } else { rng.f() }).collect();
        let want = reference(&dense, &x, rows, cols);
        let scale = want.iter().fold(0f32, |a, v| a.max(v.abs()));
        for isa in Isa::all() {
            let got = m.matmul_widened(&x, n, isa);
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!((g - w).abs() <= 1e-5 * scale, "{ty:?} {} [{i}]: {g} vs f32 product {w}", isa.name());
            }
        }
    }
}

/// Matrices loaded in place from one file (at unaligned offsets, with bytes between them) and
/// fused, on both paths (a few rows: the integer kernels; 40: widened tiles), equal their copies.
#[test]
fn matrices_in_the_files_bytes_equal_their_copies() {
    let mut rng = Rng(7);
    let cols = 96;
    let (ta, tb) =
        (random_tensor(TensorType::Q4_1, 9, cols, &mut rng), random_tensor(TensorType::Q4_1, 4, cols, &mut rng));
    let mut file = vec![0xAAu8; 7];
    file.extend(&ta);
    file.extend([0x55u8; 13]);
    let b_at = file.len();
    file.extend(&tb);
    let file = crate::gguf::SharedBytes::from(file);
    let a = PackedMatrix::from_shared(TensorType::Q4_1, &file, 7..7 + ta.len(), 9, cols).unwrap();
    let b = PackedMatrix::from_shared(TensorType::Q4_1, &file, b_at..b_at + tb.len(), 4, cols).unwrap();
    let copy = PackedMatrix::from_gguf(TensorType::Q4_1, &ta, 9, cols).unwrap();
    let ab = PackedMatrix::concat(&[a.clone(), b.clone()]).unwrap();
    assert_eq!(ab.size_bytes(), ta.len() + tb.len());
    assert_eq!(ab.row_f32(10), b.row_f32(1));
    for n in [1, 3, 40] {
        let x: Vec<f32> = (0..n * cols).map(|_| rng.f()).collect();
        let isa = Isa::detect();
        assert_eq!(a.matmul(&x, isa), copy.matmul(&x, isa), "{n} rows");
        let (ya, yb, yab) = (a.matmul(&x, isa), b.matmul(&x, isa), ab.matmul(&x, isa));
        assert_eq!(ab.detached().matmul(&x, isa), yab, "{n} rows, detached");
        // The GEMM of the wide path may block 13 rows otherwise than 9 and 4: equal to rounding.
        let close = |p: &[f32], q: &[f32]| p.iter().zip(q).all(|(p, q)| (p - q).abs() <= 1e-5 * (1.0 + q.abs()));
        for i in 0..n {
            assert!(close(&yab[i * 13..i * 13 + 9], &ya[i * 9..i * 9 + 9]), "{n} rows");
            assert!(close(&yab[i * 13 + 9..i * 13 + 13], &yb[i * 4..i * 4 + 4]), "{n} rows");
        }
    }
}

#[test]
fn fused_matrices_equal_their_parts() {
    let mut rng = Rng(99);
    let cols = 64;
    let a = PackedMatrix::from_gguf(TensorType::Q4_1, &random_tensor(TensorType::Q4_1, 5, cols, &mut rng), 5, cols)
        .unwrap();
    let b = PackedMatrix::from_gguf(TensorType::Q4_1, &random_tensor(TensorType::Q4_1, 3, cols, &mut rng), 3, cols)
        .unwrap();
    let c = PackedMatrix::from_gguf(TensorType::Q8_0, &random_tensor(TensorType::Q8_0, 3, cols, &mut rng), 3, cols)
        .unwrap();
    assert!(PackedMatrix::concat(&[a.clone(), c]).is_none(), "formats differ");
    let ab = PackedMatrix::concat(&[a.clone(), b.clone()]).unwrap();
    let x: Vec<f32> = (0..2 * cols).map(|_| rng.f()).collect();
    let (ya, yb, yab) = (a.matmul(&x, Isa::detect()), b.matmul(&x, Isa::detect()), ab.matmul(&x, Isa::detect()));
    for i in 0..2 {
        assert_eq!(&yab[i * 8..i * 8 + 5], &ya[i * 5..i * 5 + 5]);
        assert_eq!(&yab[i * 8 + 5..i * 8 + 8], &yb[i * 3..i * 3 + 3]);
    }
}

#[test]
fn a_row_widens_as_dequantize_does() {
    let mut rng = Rng(5);
    for ty in TYPES {
        let bytes = random_tensor(ty, 4, 64, &mut rng);
        let m = PackedMatrix::from_gguf(ty, &bytes, 4, 64).unwrap();
        let dense = dequantize(ty, &bytes, 256).unwrap();
        for r in 0..4 {
            assert_eq!(m.row_f32(r), dense[r * 64..(r + 1) * 64], "{ty:?} row {r}");
        }
    }
}

#[test]
fn non_finite_activations_stay_non_finite() {
    let mut rng = Rng(3);
    for ty in TYPES {
        let m = PackedMatrix::from_gguf(ty, &random_tensor(ty, 16, 64, &mut rng), 16, 64).unwrap();
        for m in [m.clone(), m.in_row_groups()] {
            for bad in [f32::NAN, f32::INFINITY] {
                let mut x = vec![0.5f32; 64];
                x[7] = bad;
                for isa in Isa::all() {
                    assert!(m.matmul(&x, isa).iter().all(|v| !v.is_finite()), "{ty:?} {bad} {}", isa.name());
                }
            }
        }
    }
}

#[test]
fn non_finite_weights_and_short_data_are_refused() {
    let mut b = f16::from_f32(f32::NAN).to_le_bytes().to_vec();
    b.extend([0u8; 32]);
    assert!(PackedMatrix::from_gguf(TensorType::Q8_0, &b, 1, 32).unwrap_err().to_string().contains("NaN"));
    assert!(PackedMatrix::from_gguf(TensorType::Q4_1, &[0u8; 19], 1, 32).is_err());
    assert!(PackedMatrix::from_gguf(TensorType::Other(12), &[0u8; 144], 1, 256).is_err());
}

/// Throughput of the decode product on matrices of the default model's sizes (not a pass/fail
/// test: `cargo test --release -p tiller-engine --lib kernel_throughput -- --ignored --nocapture`).
#[test]
#[ignore]
fn kernel_throughput() {
    let mut rng = Rng(1);
    for (ty, rows, cols, reps) in [
        (TensorType::Q4_1, 1536, 576, 2000),
        (TensorType::Q4_1, 576 * 60, 1536, 20),
        (TensorType::Q8_0, 49152, 576, 20),
    ] {
        let bytes = random_tensor(ty, rows, cols, &mut rng);
        let m = PackedMatrix::from_gguf(ty, &bytes, rows, cols).unwrap();
        let x: Vec<f32> = (0..cols).map(|_| rng.f()).collect();
        for isa in Isa::all() {
            let m = m.clone().for_isa(isa);
            let t = std::time::Instant::now();
            let mut sink = 0f32;
            for _ in 0..reps {
                sink += m.matmul(&x, isa)[0];
            }
            let s = t.elapsed().as_secs_f64();
            println!(
                "{ty:?} {rows}x{cols} {}: {:.2} GB/s, {:.0} µs per product ({sink})",
                isa.name(),
                bytes.len() as f64 * reps as f64 / s / 1e9,
                s / reps as f64 * 1e6
            );
        }
    }
    // One row (a chat step) against three (Compare's step) in each instruction set's kernel.
    let (rows, cols) = (1536, 576);
    let bytes = random_tensor(TensorType::Q4_1, rows, cols, &mut rng);
    let m = PackedMatrix::from_gguf(TensorType::Q4_1, &bytes, rows, cols).unwrap();
    for isa in Isa::all().into_iter().filter(|&i| i != Isa::Scalar) {
        let m = m.clone().for_isa(isa);
        let us = |n: usize| {
            let x: Vec<f32> = (0..n * cols).map(|i| (i % 17) as f32 - 8.0).collect();
            let t = std::time::Instant::now();
            let sink: f32 = (0..1000).map(|_| m.matmul_integer(&x, n, isa)[0]).sum();
            (t.elapsed().as_secs_f64() / 1000.0 * 1e6, sink)
        };
        // Alternated, best of five: this machine is shared and its speed drifts.
        let ((mut one, mut a), (mut three, mut b)) = ((f64::INFINITY, 0.0), (f64::INFINITY, 0.0));
        for _ in 0..5 {
            let ((o, x), (t, y)) = (us(1), us(3));
            (one, a, three, b) = (one.min(o), x, three.min(t), y);
        }
        println!(
            "Q4_1 {rows}x{cols} {}: 1 row {one:.1} µs, 3 rows {three:.1} µs ({:.2}×) ({a} {b})",
            isa.name(),
            three / one
        );
    }
    // Where a batch should leave the integer kernels for the widened GEMM (WIDE_BATCH).
    let (rows, cols) = (1536, 576);
    let bytes = random_tensor(TensorType::Q4_1, rows, cols, &mut rng);
    let m = PackedMatrix::from_gguf(TensorType::Q4_1, &bytes, rows, cols).unwrap();
    let isa = Isa::detect();
    let mut wide = vec![0f32; rows * cols];
    let t = std::time::Instant::now();
    for _ in 0..100 {
        m.widen_rows(0, &mut wide, isa);
    }
    println!("Q4_1 {rows}x{cols} widened to f32: {:.0} µs ({})", t.elapsed().as_secs_f64() * 1e4, wide[7]);
    for n in [1, 3, 4, 8, 16, 32, 64, 256] {
        let x: Vec<f32> = (0..n * cols).map(|_| rng.f()).collect();
        let reps = (4000 / n).max(10);
        let time = |f: &dyn Fn() -> Vec<f32>| {
            let t = std::time::Instant::now();
            let sink: f32 = (0..reps).map(|_| f()[0]).sum();
            (t.elapsed().as_secs_f64() / reps as f64 * 1e6, sink)
        };
        let (int_us, a) = time(&|| m.matmul_integer(&x, n, isa));
        let (wide_us, b) = time(&|| m.matmul_widened(&x, n, isa));
        let grouped = m.clone().for_isa(isa);
        let (group_us, c) = time(&|| grouped.matmul_integer(&x, n, isa));
        println!(
            "Q4_1 {rows}x{cols}, {n} rows: {} {int_us:.0} µs, in row groups {group_us:.0} µs, widened GEMM {wide_us:.0} µs ({a} {b} {c})",
            isa.name()
        );
    }
}
