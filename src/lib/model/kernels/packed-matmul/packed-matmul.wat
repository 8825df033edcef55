;; Products with a packed frozen matrix W [N, K] (one row per output), in WebAssembly SIMD128:
;;   forward   y  = x·Wᵀ    x [M, K], y [M, N]
;;   backward  dx = dy·W    dy [M, N], dx [M, K]
;; W is packed one of two ways (fmt):
;;   0  int8: q [N, K] bytes, row n at w + n·K, with one f32 scale per row: W[n, k] = q[n, k]·scales[n]
;;   1  f16:  [N, K] IEEE half floats, row n at w + 2·n·K (scales unused)
;; W itself is never expanded to f32 in memory; accumulation is f32.
;; Both products are one register-blocked GEMM, out [M, C] = a [M, T] · panel [T, C], eight columns of out
;; at a time: a panel [T, 8] of W is dequantised into scratch once (at most 256 values of T, so it stays in
;; L1) and then used against every row of a, four rows at a time (kern4: 4 × 8 outputs in eight f32x4
;; accumulators; each step of t broadcasts one value of each of the four rows and loads one panel row).
;;   forward:  a = x, T runs over k, the panel holds eight rows of W transposed (panelT);
;;   backward: a = dy, T runs over n, the panel holds eight columns of W as they lie (panel).
;; Tails: rows of a past the last multiple of four go one at a time (kern1); a last block of fewer than eight
;; columns is computed on a zero-padded panel and written through a small tile (storeTile); T needs none.
;; With M < 4 (generation) a panel would be used too few times to pay for its transpose: those products
;; take a row of W at a time instead (forwardRows, backwardRows).
;; The multiply-adds are written as f32x4.relaxed_madd; scripts/build-kernels.ts also builds this module with
;; each one rewritten as f32x4.add(f32x4.mul(a, b), c) for engines without relaxed SIMD. Arrays are byte
;; offsets; nothing is read or written past an array's end. Scratch: scratchBytes(K) bytes.
;; Half floats: the 15 low bits shifted into f32 position and multiplied by 2^112 give the magnitude of
;; normal and subnormal halves alike; the sign bit is copied over. Packing never writes inf or NaN.
(module
  (import "env" "mem" (memory $mem 1))
  (export "mem" (memory $mem))

  ;; scratch[k] = q[k]·scale for one int8 row
  (func $deqInt8 (param $row i32) (param $scale f32) (param $scratch i32) (param $K i32)
    (local $k i32) (local $vec i32) (local $s v128)
    (local.set $s (f32x4.splat (local.get $scale)))
    (local.set $vec (i32.and (local.get $K) (i32.const -4)))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $k) (local.get $vec)))
        (v128.store (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2)))
          (f32x4.mul (local.get $s)
            (f32x4.convert_i32x4_s
              (i32x4.extend_low_i16x8_s
                (i16x8.extend_low_i8x16_s (v128.load32_zero (i32.add (local.get $row) (local.get $k))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $top)))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $k) (local.get $K)))
        (f32.store (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2)))
          (f32.mul (local.get $scale) (f32.convert_i32_s (i32.load8_s (i32.add (local.get $row) (local.get $k))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tail))))

  ;; scratch[k] = f32(h[k]) for one f16 row
  (func $deqF16 (param $row i32) (param $scratch i32) (param $K i32)
    (local $k i32) (local $vec i32) (local $h v128) (local $x i32)
    (local.set $vec (i32.and (local.get $K) (i32.const -4)))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $k) (local.get $vec)))
        (local.set $h (v128.load16x4_u (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 1)))))
        (v128.store (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2)))
          (v128.or
            (f32x4.mul
              (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)) (i32.const 13))
              (v128.const f32x4 0x1p+112 0x1p+112 0x1p+112 0x1p+112))
            (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $top)))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $x (i32.load16_u (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 1)))))
        (f32.store (i32.add (local.get $scratch) (i32.shl (local.get $k) (i32.const 2)))
          (f32.copysign
            (f32.mul
              (f32.reinterpret_i32 (i32.shl (i32.and (local.get $x) (i32.const 0x7fff)) (i32.const 13)))
              (f32.const 0x1p+112))
            (f32.reinterpret_i32 (i32.shl (local.get $x) (i32.const 16)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tail))))

  ;; row n of W (either format) into scratch
  (func $deqRow (param $fmt i32) (param $w i32) (param $scales i32) (param $n i32) (param $scratch i32) (param $K i32)
    (if (local.get $fmt)
      (then
        (call $deqF16 (i32.add (local.get $w) (i32.shl (i32.mul (local.get $n) (local.get $K)) (i32.const 1)))
          (local.get $scratch) (local.get $K)))
      (else
        (call $deqInt8 (i32.add (local.get $w) (i32.mul (local.get $n) (local.get $K)))
          (f32.load (i32.add (local.get $scales) (i32.shl (local.get $n) (i32.const 2))))
          (local.get $scratch) (local.get $K)))))

  ;; Σ_k a[k]·b[k] over K floats
  (func $dot (param $a i32) (param $b i32) (param $K i32) (result f32)
    (local $k i32) (local $vec i32) (local $acc v128) (local $acc2 v128) (local $s f32) (local $o i32)
    (local.set $vec (i32.and (local.get $K) (i32.const -8)))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $k) (local.get $vec)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $acc
          (f32x4.relaxed_madd
            (v128.load (i32.add (local.get $a) (local.get $o)))
            (v128.load (i32.add (local.get $b) (local.get $o)))
            (local.get $acc)))
        (local.set $acc2
          (f32x4.relaxed_madd
            (v128.load offset=16 (i32.add (local.get $a) (local.get $o)))
            (v128.load offset=16 (i32.add (local.get $b) (local.get $o)))
            (local.get $acc2)))
        (local.set $k (i32.add (local.get $k) (i32.const 8)))
        (br $top)))
    (if (i32.le_u (i32.add (local.get $k) (i32.const 4)) (local.get $K))
      (then
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $acc
          (f32x4.relaxed_madd
            (v128.load (i32.add (local.get $a) (local.get $o)))
            (v128.load (i32.add (local.get $b) (local.get $o)))
            (local.get $acc)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))))
    (local.set $acc (f32x4.add (local.get $acc) (local.get $acc2)))
    (local.set $s
      (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
        (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $s
          (f32.add (local.get $s)
            (f32.mul (f32.load (i32.add (local.get $a) (local.get $o)))
              (f32.load (i32.add (local.get $b) (local.get $o))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tail)))
    (local.get $s))

  ;; Four dot products against one row b: out[j·outStride] = Σ_k x_j[k]·b[k], x_j = x + j·xStride (bytes)
  (func $dot4 (param $x i32) (param $xStride i32) (param $b i32) (param $K i32) (param $out i32) (param $outStride i32)
    (local $k i32) (local $vec i32) (local $o i32) (local $bv v128)
    (local $x1 i32) (local $x2 i32) (local $x3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $bs f32)
    (local.set $x1 (i32.add (local.get $x) (local.get $xStride)))
    (local.set $x2 (i32.add (local.get $x1) (local.get $xStride)))
    (local.set $x3 (i32.add (local.get $x2) (local.get $xStride)))
    (local.set $vec (i32.and (local.get $K) (i32.const -4)))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $k) (local.get $vec)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $bv (v128.load (i32.add (local.get $b) (local.get $o))))
        (local.set $a0
          (f32x4.relaxed_madd (v128.load (i32.add (local.get $x) (local.get $o))) (local.get $bv) (local.get $a0)))
        (local.set $a1
          (f32x4.relaxed_madd (v128.load (i32.add (local.get $x1) (local.get $o))) (local.get $bv) (local.get $a1)))
        (local.set $a2
          (f32x4.relaxed_madd (v128.load (i32.add (local.get $x2) (local.get $o))) (local.get $bv) (local.get $a2)))
        (local.set $a3
          (f32x4.relaxed_madd (v128.load (i32.add (local.get $x3) (local.get $o))) (local.get $bv) (local.get $a3)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $top)))
    (local.set $s0 (call $hsum (local.get $a0)))
    (local.set $s1 (call $hsum (local.get $a1)))
    (local.set $s2 (call $hsum (local.get $a2)))
    (local.set $s3 (call $hsum (local.get $a3)))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $bs (f32.load (i32.add (local.get $b) (local.get $o))))
        (local.set $s0 (f32.add (local.get $s0) (f32.mul (f32.load (i32.add (local.get $x) (local.get $o))) (local.get $bs))))
        (local.set $s1 (f32.add (local.get $s1) (f32.mul (f32.load (i32.add (local.get $x1) (local.get $o))) (local.get $bs))))
        (local.set $s2 (f32.add (local.get $s2) (f32.mul (f32.load (i32.add (local.get $x2) (local.get $o))) (local.get $bs))))
        (local.set $s3 (f32.add (local.get $s3) (f32.mul (f32.load (i32.add (local.get $x3) (local.get $o))) (local.get $bs))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tail)))
    (f32.store (local.get $out) (local.get $s0))
    (f32.store (i32.add (local.get $out) (local.get $outStride)) (local.get $s1))
    (f32.store (i32.add (local.get $out) (i32.shl (local.get $outStride) (i32.const 1))) (local.get $s2))
    (f32.store (i32.add (local.get $out) (i32.mul (local.get $outStride) (i32.const 3))) (local.get $s3)))

  (func $hsum (param $v v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
      (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; y[k] += Σ_j a_j·r_j[k] over K floats, r_j = r + j·rStride (four rows of W at once: y is read and
  ;; written once for four rows)
  (func $axpy4 (param $a v128) (param $r i32) (param $rStride i32) (param $y i32) (param $K i32)
    (local $k i32) (local $vec i32) (local $o i32) (local $acc v128) (local $t f32)
    (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $r1 (i32.add (local.get $r) (local.get $rStride)))
    (local.set $r2 (i32.add (local.get $r1) (local.get $rStride)))
    (local.set $r3 (i32.add (local.get $r2) (local.get $rStride)))
    (local.set $a0 (f32x4.splat (f32x4.extract_lane 0 (local.get $a))))
    (local.set $a1 (f32x4.splat (f32x4.extract_lane 1 (local.get $a))))
    (local.set $a2 (f32x4.splat (f32x4.extract_lane 2 (local.get $a))))
    (local.set $a3 (f32x4.splat (f32x4.extract_lane 3 (local.get $a))))
    (local.set $vec (i32.and (local.get $K) (i32.const -4)))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $k) (local.get $vec)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $acc (v128.load (i32.add (local.get $y) (local.get $o))))
        (local.set $acc (f32x4.relaxed_madd (local.get $a0) (v128.load (i32.add (local.get $r) (local.get $o))) (local.get $acc)))
        (local.set $acc (f32x4.relaxed_madd (local.get $a1) (v128.load (i32.add (local.get $r1) (local.get $o))) (local.get $acc)))
        (local.set $acc (f32x4.relaxed_madd (local.get $a2) (v128.load (i32.add (local.get $r2) (local.get $o))) (local.get $acc)))
        (local.set $acc (f32x4.relaxed_madd (local.get $a3) (v128.load (i32.add (local.get $r3) (local.get $o))) (local.get $acc)))
        (v128.store (i32.add (local.get $y) (local.get $o)) (local.get $acc))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $top)))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $o (i32.shl (local.get $k) (i32.const 2)))
        (local.set $t (f32.load (i32.add (local.get $y) (local.get $o))))
        (local.set $t (f32.add (local.get $t) (f32.mul (f32x4.extract_lane 0 (local.get $a)) (f32.load (i32.add (local.get $r) (local.get $o))))))
        (local.set $t (f32.add (local.get $t) (f32.mul (f32x4.extract_lane 1 (local.get $a)) (f32.load (i32.add (local.get $r1) (local.get $o))))))
        (local.set $t (f32.add (local.get $t) (f32.mul (f32x4.extract_lane 2 (local.get $a)) (f32.load (i32.add (local.get $r2) (local.get $o))))))
        (local.set $t (f32.add (local.get $t) (f32.mul (f32x4.extract_lane 3 (local.get $a)) (f32.load (i32.add (local.get $r3) (local.get $o))))))
        (f32.store (i32.add (local.get $y) (local.get $o)) (local.get $t))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $tail))))

  ;; y [M, N] = x [M, K] · Wᵀ a row of W at a time (M < 4: each dequantised row is used against every row of x)
  (func $forwardRows
    (param $fmt i32) (param $x i32) (param $w i32) (param $scales i32) (param $y i32) (param $scratch i32)
    (param $M i32) (param $N i32) (param $K i32)
    (local $n i32) (local $m i32) (local $rowBytes i32)
    (local.set $rowBytes (i32.shl (local.get $K) (i32.const 2)))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (call $deqRow (local.get $fmt) (local.get $w) (local.get $scales) (local.get $n) (local.get $scratch) (local.get $K))
        (local.set $m (i32.const 0))
        (block $m4done
          (loop $m4loop
            (br_if $m4done (i32.gt_u (i32.add (local.get $m) (i32.const 4)) (local.get $M)))
            (call $dot4 (i32.add (local.get $x) (i32.mul (local.get $m) (local.get $rowBytes))) (local.get $rowBytes)
              (local.get $scratch) (local.get $K)
              (i32.add (local.get $y)
                (i32.shl (i32.add (i32.mul (local.get $m) (local.get $N)) (local.get $n)) (i32.const 2)))
              (i32.shl (local.get $N) (i32.const 2)))
            (local.set $m (i32.add (local.get $m) (i32.const 4)))
            (br $m4loop)))
        (block $mdone
          (loop $mloop
            (br_if $mdone (i32.ge_u (local.get $m) (local.get $M)))
            (f32.store
              (i32.add (local.get $y)
                (i32.shl (i32.add (i32.mul (local.get $m) (local.get $N)) (local.get $n)) (i32.const 2)))
              (call $dot (i32.add (local.get $x) (i32.mul (local.get $m) (local.get $rowBytes)))
                (local.get $scratch) (local.get $K)))
            (local.set $m (i32.add (local.get $m) (i32.const 1)))
            (br $mloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $nloop))))

  ;; dx [M, K] = dy [M, N] · W four rows of W at a time (M < 4; scratch: 4·K floats; rows past N are zeros)
  (func $backwardRows
    (param $fmt i32) (param $dy i32) (param $w i32) (param $scales i32) (param $dx i32) (param $scratch i32)
    (param $M i32) (param $N i32) (param $K i32)
    (local $n i32) (local $m i32) (local $j i32) (local $rowBytes i32) (local $a v128) (local $dyRow i32)
    (local.set $rowBytes (i32.shl (local.get $K) (i32.const 2)))
    (memory.fill (local.get $dx) (i32.const 0) (i32.mul (local.get $M) (local.get $rowBytes)))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n) (local.get $N)))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (i32.const 4)))
            (if (i32.lt_u (i32.add (local.get $n) (local.get $j)) (local.get $N))
              (then
                (call $deqRow (local.get $fmt) (local.get $w) (local.get $scales) (i32.add (local.get $n) (local.get $j))
                  (i32.add (local.get $scratch) (i32.mul (local.get $j) (local.get $rowBytes))) (local.get $K)))
              (else
                (memory.fill (i32.add (local.get $scratch) (i32.mul (local.get $j) (local.get $rowBytes)))
                  (i32.const 0) (local.get $rowBytes))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
        (local.set $m (i32.const 0))
        (block $mdone
          (loop $mloop
            (br_if $mdone (i32.ge_u (local.get $m) (local.get $M)))
            ;; a = dy[m, n .. n + 3], zeros past N
            (local.set $dyRow
              (i32.add (local.get $dy)
                (i32.shl (i32.add (i32.mul (local.get $m) (local.get $N)) (local.get $n)) (i32.const 2))))
            (local.set $a (f32x4.splat (f32.load (local.get $dyRow))))
            (if (i32.lt_u (i32.add (local.get $n) (i32.const 1)) (local.get $N))
              (then (local.set $a (f32x4.replace_lane 1 (local.get $a) (f32.load offset=4 (local.get $dyRow)))))
              (else (local.set $a (f32x4.replace_lane 1 (local.get $a) (f32.const 0)))))
            (if (i32.lt_u (i32.add (local.get $n) (i32.const 2)) (local.get $N))
              (then (local.set $a (f32x4.replace_lane 2 (local.get $a) (f32.load offset=8 (local.get $dyRow)))))
              (else (local.set $a (f32x4.replace_lane 2 (local.get $a) (f32.const 0)))))
            (if (i32.lt_u (i32.add (local.get $n) (i32.const 3)) (local.get $N))
              (then (local.set $a (f32x4.replace_lane 3 (local.get $a) (f32.load offset=12 (local.get $dyRow)))))
              (else (local.set $a (f32x4.replace_lane 3 (local.get $a) (f32.const 0)))))
            (call $axpy4 (local.get $a) (local.get $scratch) (local.get $rowBytes)
              (i32.add (local.get $dx) (i32.mul (local.get $m) (local.get $rowBytes))) (local.get $K))
            (local.set $m (i32.add (local.get $m) (i32.const 1)))
            (br $mloop)))
        (local.set $n (i32.add (local.get $n) (i32.const 4)))
        (br $nloop))))

  ;; out[i, j] (+)= Σ_t a_i[t]·panel[t, j] for 4 rows i of a (a_i = a + i·as bytes, T values each) and
  ;; the 8 columns j of a panel [T, 8]; the first nv columns are written to out_i = o + i·os (added to
  ;; what is there when acc), through `tile` (4·8 floats) when nv < 8. One step of t per iteration keeps
  ;; the loop in 14 xmm registers (8 accumulators, 2 panel vectors, the broadcasts): unrolled by two, V8
  ;; loads both steps' operands first and spills accumulators to the stack (half the speed).
  (func $kern4 (param $a i32) (param $as i32) (param $p i32) (param $T i32) (param $o i32) (param $os i32)
    (param $nv i32) (param $acc i32) (param $tile i32)
    (local $end i32) (local $a1 i32) (local $a2 i32) (local $a3 i32) (local $b0 v128) (local $b1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128) (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $a1 (i32.add (local.get $a) (local.get $as)))
    (local.set $a2 (i32.add (local.get $a1) (local.get $as)))
    (local.set $a3 (i32.add (local.get $a2) (local.get $as)))
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $T) (i32.const 5))))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $b0 (v128.load (local.get $p)))
        (local.set $b1 (v128.load offset=16 (local.get $p)))
        (local.set $s (v128.load32_splat (local.get $a)))
        (local.set $c00 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c00)))
        (local.set $c01 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c01)))
        (local.set $s (v128.load32_splat (local.get $a1)))
        (local.set $c10 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c10)))
        (local.set $c11 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c11)))
        (local.set $s (v128.load32_splat (local.get $a2)))
        (local.set $c20 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c20)))
        (local.set $c21 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c21)))
        (local.set $s (v128.load32_splat (local.get $a3)))
        (local.set $c30 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c30)))
        (local.set $c31 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c31)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (local.set $a1 (i32.add (local.get $a1) (i32.const 4)))
        (local.set $a2 (i32.add (local.get $a2) (i32.const 4)))
        (local.set $a3 (i32.add (local.get $a3) (i32.const 4)))
        (br $top)))
    (if (i32.eq (local.get $nv) (i32.const 8))
      (then
        (if (local.get $acc)
          (then
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $o))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $o))))
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (i32.add (local.get $o) (local.get $os)))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (i32.add (local.get $o) (local.get $os)))))
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 2))))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 2))))))
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 3))))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 3))))))))
        (v128.store (local.get $o) (local.get $c00))
        (v128.store offset=16 (local.get $o) (local.get $c01))
        (v128.store (i32.add (local.get $o) (local.get $os)) (local.get $c10))
        (v128.store offset=16 (i32.add (local.get $o) (local.get $os)) (local.get $c11))
        (v128.store (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 2))) (local.get $c20))
        (v128.store offset=16 (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 2))) (local.get $c21))
        (v128.store (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 3))) (local.get $c30))
        (v128.store offset=16 (i32.add (local.get $o) (i32.mul (local.get $os) (i32.const 3))) (local.get $c31)))
      (else
        (v128.store (local.get $tile) (local.get $c00))
        (v128.store offset=16 (local.get $tile) (local.get $c01))
        (v128.store offset=32 (local.get $tile) (local.get $c10))
        (v128.store offset=48 (local.get $tile) (local.get $c11))
        (v128.store offset=64 (local.get $tile) (local.get $c20))
        (v128.store offset=80 (local.get $tile) (local.get $c21))
        (v128.store offset=96 (local.get $tile) (local.get $c30))
        (v128.store offset=112 (local.get $tile) (local.get $c31))
        (call $storeTile (local.get $tile) (local.get $o) (local.get $os) (i32.const 4) (local.get $nv) (local.get $acc)))))

  ;; out[i, j] (+)= Σ_t a_i[t]·panel[t, j] for 1 row i of a (a_i = a + i·as bytes, T values each) and
  ;; the 8 columns j of a panel [T, 8]; the first nv columns are written to out_i = o + i·os (added to
  ;; what is there when acc), through `tile` (1·8 floats) when nv < 8.
  (func $kern1 (param $a i32) (param $as i32) (param $p i32) (param $T i32) (param $o i32) (param $os i32)
    (param $nv i32) (param $acc i32) (param $tile i32)
    (local $end i32) (local $b0 v128) (local $b1 v128) (local $s v128)
    (local $c00 v128) (local $c01 v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $T) (i32.const 5))))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $b0 (v128.load (local.get $p)))
        (local.set $b1 (v128.load offset=16 (local.get $p)))
        (local.set $s (v128.load32_splat (local.get $a)))
        (local.set $c00 (f32x4.relaxed_madd (local.get $s) (local.get $b0) (local.get $c00)))
        (local.set $c01 (f32x4.relaxed_madd (local.get $s) (local.get $b1) (local.get $c01)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $a (i32.add (local.get $a) (i32.const 4)))
        (br $top)))
    (if (i32.eq (local.get $nv) (i32.const 8))
      (then
        (if (local.get $acc)
          (then
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $o))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $o))))))
        (v128.store (local.get $o) (local.get $c00))
        (v128.store offset=16 (local.get $o) (local.get $c01)))
      (else
        (v128.store (local.get $tile) (local.get $c00))
        (v128.store offset=16 (local.get $tile) (local.get $c01))
        (call $storeTile (local.get $tile) (local.get $o) (local.get $os) (i32.const 1) (local.get $nv) (local.get $acc)))))

  ;; out_i[j] (+)= tile[i·8 + j] for the rows i < R and the first nv columns j (a block's last columns)
  (func $storeTile (param $tile i32) (param $o i32) (param $os i32) (param $R i32) (param $nv i32) (param $acc i32)
    (local $i i32) (local $j i32) (local $at i32) (local $v f32)
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $R)))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $nv)))
            (local.set $at
              (i32.add (i32.add (local.get $o) (i32.mul (local.get $i) (local.get $os))) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $v
              (f32.load (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))))
            (if (local.get $acc) (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $at))))))
            (f32.store (local.get $at) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop))))

  ;; f32 values of four halves (the low 16 bits of each i32 lane)
  (func $halves (param $h v128) (result v128)
    (v128.or
      (f32x4.mul
        (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)) (i32.const 13))
        (v128.const f32x4 0x1p+112 0x1p+112 0x1p+112 0x1p+112))
      (i32x4.shl (v128.and (local.get $h) (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) (i32.const 16))))

  ;; W[n, k] as f32 (either format)
  (func $deqOne (param $fmt i32) (param $w i32) (param $scales i32) (param $n i32) (param $k i32) (param $K i32) (result f32)
    (local $x i32) (local $at i32)
    (local.set $at (i32.add (i32.mul (local.get $n) (local.get $K)) (local.get $k)))
    (if (result f32) (local.get $fmt)
      (then
        (local.set $x (i32.load16_u (i32.add (local.get $w) (i32.shl (local.get $at) (i32.const 1)))))
        (f32.copysign
          (f32.mul
            (f32.reinterpret_i32 (i32.shl (i32.and (local.get $x) (i32.const 0x7fff)) (i32.const 13)))
            (f32.const 0x1p+112))
          (f32.reinterpret_i32 (i32.shl (local.get $x) (i32.const 16)))))
      (else
        (f32.mul (f32.load (i32.add (local.get $scales) (i32.shl (local.get $n) (i32.const 2))))
          (f32.convert_i32_s (i32.load8_s (i32.add (local.get $w) (local.get $at))))))))

  ;; Forward panel: panel[t, j] = W[n0 + j, k0 + t] for t < T, j < 8 (zeros for rows j ≥ nv), [T, 8] floats.
  ;; The nv rows are dequantised into rows (8 rows of KC floats) and transposed four by four.
  (func $panelT (param $fmt i32) (param $w i32) (param $scales i32) (param $n0 i32) (param $nv i32) (param $k0 i32)
    (param $T i32) (param $K i32) (param $rows i32) (param $panel i32)
    (local $j i32) (local $t i32) (local $g i32) (local $r i32) (local $p i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (block $jdone
      (loop $jloop
        (br_if $jdone (i32.ge_u (local.get $j) (i32.const 8)))
        (local.set $r (i32.add (local.get $rows) (i32.mul (local.get $j) (i32.const 1024))))
        (if (i32.lt_u (local.get $j) (local.get $nv))
          (then
            (if (local.get $fmt)
              (then
                (call $deqF16
                  (i32.add (local.get $w)
                    (i32.shl (i32.add (i32.mul (i32.add (local.get $n0) (local.get $j)) (local.get $K)) (local.get $k0)) (i32.const 1)))
                  (local.get $r) (local.get $T)))
              (else
                (call $deqInt8
                  (i32.add (local.get $w) (i32.add (i32.mul (i32.add (local.get $n0) (local.get $j)) (local.get $K)) (local.get $k0)))
                  (f32.load (i32.add (local.get $scales) (i32.shl (i32.add (local.get $n0) (local.get $j)) (i32.const 2))))
                  (local.get $r) (local.get $T)))))
          (else (memory.fill (local.get $r) (i32.const 0) (i32.const 1024))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $jloop)))
    ;; four values of t at a time (past T: values never read)
    (block $tdone
      (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $T)))
        (local.set $g (i32.const 0))
        (block $gdone
          (loop $gloop
            (br_if $gdone (i32.ge_u (local.get $g) (i32.const 2)))
            (local.set $r (i32.add (i32.add (local.get $rows) (i32.shl (local.get $g) (i32.const 12))) (i32.shl (local.get $t) (i32.const 2))))
            (local.set $r0 (v128.load (local.get $r)))
            (local.set $r1 (v128.load offset=1024 (local.get $r)))
            (local.set $r2 (v128.load offset=2048 (local.get $r)))
            (local.set $r3 (v128.load offset=3072 (local.get $r)))
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
            (local.set $p (i32.add (local.get $panel) (i32.add (i32.shl (local.get $t) (i32.const 5)) (i32.shl (local.get $g) (i32.const 4)))))
            (v128.store (local.get $p)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store offset=32 (local.get $p)
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store offset=64 (local.get $p)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store offset=96 (local.get $p)
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $g (i32.add (local.get $g) (i32.const 1)))
            (br $gloop)))
        (local.set $t (i32.add (local.get $t) (i32.const 4)))
        (br $tloop))))

  ;; Backward panel: panel[t, j] = W[n0 + t, k0 + j] for t < T, j < 8 (zeros for columns j ≥ kv), [T, 8] floats
  (func $panel (param $fmt i32) (param $w i32) (param $scales i32) (param $n0 i32) (param $T i32) (param $k0 i32)
    (param $kv i32) (param $K i32) (param $panel i32)
    (local $t i32) (local $j i32) (local $n i32) (local $at i32) (local $s v128) (local $q v128) (local $p i32)
    (block $tdone
      (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $t) (local.get $T)))
        (local.set $n (i32.add (local.get $n0) (local.get $t)))
        (local.set $p (i32.add (local.get $panel) (i32.shl (local.get $t) (i32.const 5))))
        (local.set $at (i32.add (i32.mul (local.get $n) (local.get $K)) (local.get $k0)))
        (if (i32.eq (local.get $kv) (i32.const 8))
          (then
            (if (local.get $fmt)
              (then
                (local.set $at (i32.add (local.get $w) (i32.shl (local.get $at) (i32.const 1))))
                (v128.store (local.get $p) (call $halves (v128.load16x4_u (local.get $at))))
                (v128.store offset=16 (local.get $p) (call $halves (v128.load16x4_u offset=8 (local.get $at)))))
              (else
                (local.set $s (v128.load32_splat (i32.add (local.get $scales) (i32.shl (local.get $n) (i32.const 2)))))
                (local.set $q (i16x8.extend_low_i8x16_s (v128.load64_zero (i32.add (local.get $w) (local.get $at)))))
                (v128.store (local.get $p)
                  (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $q)))))
                (v128.store offset=16 (local.get $p)
                  (f32x4.mul (local.get $s) (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $q))))))))
          (else
            (local.set $j (i32.const 0))
            (block $jdone
              (loop $jloop
                (br_if $jdone (i32.ge_u (local.get $j) (i32.const 8)))
                (f32.store (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))
                  (if (result f32) (i32.lt_u (local.get $j) (local.get $kv))
                    (then (call $deqOne (local.get $fmt) (local.get $w) (local.get $scales) (local.get $n)
                      (i32.add (local.get $k0) (local.get $j)) (local.get $K)))
                    (else (f32.const 0))))
                (local.set $j (i32.add (local.get $j) (i32.const 1)))
                (br $jloop)))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tloop))))

  ;; Bytes of scratch the two products need for W [N, K] (either direction).
  (func (export "scratchBytes") (param $K i32) (result i32)
    (select (i32.shl (local.get $K) (i32.const 4)) (i32.const 16512)
      (i32.gt_u (i32.shl (local.get $K) (i32.const 4)) (i32.const 16512))))

  ;; y [M, N] = x [M, K] · Wᵀ. Blocked (M ≥ 4): for each block of KC = 256 values of k and each block of 8
  ;; rows of W, the panel [kc, 8] is dequantised once and used against every row of x, four rows at a
  ;; time; blocks of k after the first add to y. Scratch: rows (8·KC floats), panel (8·KC), tile (32).
  (func (export "forward")
    (param $fmt i32) (param $x i32) (param $w i32) (param $scales i32) (param $y i32) (param $scratch i32)
    (param $M i32) (param $N i32) (param $K i32)
    (local $k0 i32) (local $kc i32) (local $n0 i32) (local $nv i32) (local $m i32) (local $xs i32) (local $ys i32)
    (local $panel i32) (local $tile i32) (local $xAt i32) (local $yAt i32)
    (if (i32.lt_u (local.get $M) (i32.const 4))
      (then
        (call $forwardRows (local.get $fmt) (local.get $x) (local.get $w) (local.get $scales) (local.get $y)
          (local.get $scratch) (local.get $M) (local.get $N) (local.get $K))
        (return)))
    (if (i32.eqz (local.get $K))
      (then (memory.fill (local.get $y) (i32.const 0) (i32.shl (i32.mul (local.get $M) (local.get $N)) (i32.const 2)))))
    (local.set $panel (i32.add (local.get $scratch) (i32.const 8192)))
    (local.set $tile (i32.add (local.get $scratch) (i32.const 16384)))
    (local.set $xs (i32.shl (local.get $K) (i32.const 2)))
    (local.set $ys (i32.shl (local.get $N) (i32.const 2)))
    (block $kdone
      (loop $kloop
        (br_if $kdone (i32.ge_u (local.get $k0) (local.get $K)))
        (local.set $kc (i32.sub (local.get $K) (local.get $k0)))
        (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
        (local.set $n0 (i32.const 0))
        (block $ndone
          (loop $nloop
            (br_if $ndone (i32.ge_u (local.get $n0) (local.get $N)))
            (local.set $nv (i32.sub (local.get $N) (local.get $n0)))
            (if (i32.gt_u (local.get $nv) (i32.const 8)) (then (local.set $nv (i32.const 8))))
            (call $panelT (local.get $fmt) (local.get $w) (local.get $scales) (local.get $n0) (local.get $nv)
              (local.get $k0) (local.get $kc) (local.get $K) (local.get $scratch) (local.get $panel))
            (local.set $xAt (i32.add (local.get $x) (i32.shl (local.get $k0) (i32.const 2))))
            (local.set $yAt (i32.add (local.get $y) (i32.shl (local.get $n0) (i32.const 2))))
            (local.set $m (i32.const 0))
            (block $mdone
              (loop $mloop
                (br_if $mdone (i32.gt_u (i32.add (local.get $m) (i32.const 4)) (local.get $M)))
                (call $kern4 (local.get $xAt) (local.get $xs) (local.get $panel) (local.get $kc) (local.get $yAt)
                  (local.get $ys) (local.get $nv) (local.get $k0) (local.get $tile))
                (local.set $xAt (i32.add (local.get $xAt) (i32.shl (local.get $xs) (i32.const 2))))
                (local.set $yAt (i32.add (local.get $yAt) (i32.shl (local.get $ys) (i32.const 2))))
                (local.set $m (i32.add (local.get $m) (i32.const 4)))
                (br $mloop)))
            (block $m1done
              (loop $m1loop
                (br_if $m1done (i32.ge_u (local.get $m) (local.get $M)))
                (call $kern1 (local.get $xAt) (local.get $xs) (local.get $panel) (local.get $kc) (local.get $yAt)
                  (local.get $ys) (local.get $nv) (local.get $k0) (local.get $tile))
                (local.set $xAt (i32.add (local.get $xAt) (local.get $xs)))
                (local.set $yAt (i32.add (local.get $yAt) (local.get $ys)))
                (local.set $m (i32.add (local.get $m) (i32.const 1)))
                (br $m1loop)))
            (local.set $n0 (i32.add (local.get $n0) (i32.const 8)))
            (br $nloop)))
        (local.set $k0 (i32.add (local.get $k0) (i32.const 256)))
        (br $kloop))))

  ;; dx [M, K] = dy [M, N] · W. Blocked (M ≥ 4): for each block of NC = 256 rows of W and each block of 8
  ;; columns, the panel [nc, 8] (W's own layout, no transpose) is dequantised once and used against every
  ;; row of dy, four rows at a time; blocks of rows after the first add to dx. Scratch: panel (8·NC), tile.
  (func (export "backward")
    (param $fmt i32) (param $dy i32) (param $w i32) (param $scales i32) (param $dx i32) (param $scratch i32)
    (param $M i32) (param $N i32) (param $K i32)
    (local $n0 i32) (local $nc i32) (local $k0 i32) (local $kv i32) (local $m i32) (local $as i32) (local $os i32)
    (local $tile i32) (local $aAt i32) (local $oAt i32)
    (if (i32.lt_u (local.get $M) (i32.const 4))
      (then
        (call $backwardRows (local.get $fmt) (local.get $dy) (local.get $w) (local.get $scales) (local.get $dx)
          (local.get $scratch) (local.get $M) (local.get $N) (local.get $K))
        (return)))
    (local.set $tile (i32.add (local.get $scratch) (i32.const 16384)))
    (local.set $as (i32.shl (local.get $N) (i32.const 2)))
    (local.set $os (i32.shl (local.get $K) (i32.const 2)))
    (if (i32.eqz (local.get $N))
      (then (memory.fill (local.get $dx) (i32.const 0) (i32.mul (local.get $M) (local.get $os)))))
    (block $ndone
      (loop $nloop
        (br_if $ndone (i32.ge_u (local.get $n0) (local.get $N)))
        (local.set $nc (i32.sub (local.get $N) (local.get $n0)))
        (if (i32.gt_u (local.get $nc) (i32.const 256)) (then (local.set $nc (i32.const 256))))
        (local.set $k0 (i32.const 0))
        (block $kdone
          (loop $kloop
            (br_if $kdone (i32.ge_u (local.get $k0) (local.get $K)))
            (local.set $kv (i32.sub (local.get $K) (local.get $k0)))
            (if (i32.gt_u (local.get $kv) (i32.const 8)) (then (local.set $kv (i32.const 8))))
            (call $panel (local.get $fmt) (local.get $w) (local.get $scales) (local.get $n0) (local.get $nc)
              (local.get $k0) (local.get $kv) (local.get $K) (local.get $scratch))
            (local.set $aAt (i32.add (local.get $dy) (i32.shl (local.get $n0) (i32.const 2))))
            (local.set $oAt (i32.add (local.get $dx) (i32.shl (local.get $k0) (i32.const 2))))
            (local.set $m (i32.const 0))
            (block $mdone
              (loop $mloop
                (br_if $mdone (i32.gt_u (i32.add (local.get $m) (i32.const 4)) (local.get $M)))
                (call $kern4 (local.get $aAt) (local.get $as) (local.get $scratch) (local.get $nc) (local.get $oAt)
                  (local.get $os) (local.get $kv) (local.get $n0) (local.get $tile))
                (local.set $aAt (i32.add (local.get $aAt) (i32.shl (local.get $as) (i32.const 2))))
                (local.set $oAt (i32.add (local.get $oAt) (i32.shl (local.get $os) (i32.const 2))))
                (local.set $m (i32.add (local.get $m) (i32.const 4)))
                (br $mloop)))
            (block $m1done
              (loop $m1loop
                (br_if $m1done (i32.ge_u (local.get $m) (local.get $M)))
                (call $kern1 (local.get $aAt) (local.get $as) (local.get $scratch) (local.get $nc) (local.get $oAt)
                  (local.get $os) (local.get $kv) (local.get $n0) (local.get $tile))
                (local.set $aAt (i32.add (local.get $aAt) (local.get $as)))
                (local.set $oAt (i32.add (local.get $oAt) (local.get $os)))
                (local.set $m (i32.add (local.get $m) (i32.const 1)))
                (br $m1loop)))
            (local.set $k0 (i32.add (local.get $k0) (i32.const 8)))
            (br $kloop)))
        (local.set $n0 (i32.add (local.get $n0) (i32.const 256)))
        (br $nloop))))
)
