;; Products with a packed frozen matrix W [N, K] (one row per output), in WebAssembly SIMD128:
;;   forward   y  = x·Wᵀ    x [M, K], y [M, N]
;;   backward  dx = dy·W    dy [M, N], dx [M, K]
;; W is packed one of two ways (fmt):
;;   0  int8: q [N, K] bytes, row n at w + n·K, with one f32 scale per row: W[n, k] = q[n, k]·scales[n]
;;   1  f16:  [N, K] IEEE half floats, row n at w + 2·n·K (scales unused)
;; Each row of W is dequantised once per call into `scratch` (4·K floats, stays in L1), then used against
;; every row of x (forward: dot products, four rows of x at a time) or dy (backward: four rows of W at a
;; time, dx[m] += Σ_j dy[m, n + j]·W[n + j]); W itself is never expanded to f32 in memory. Accumulation
;; is f32. The multiply-adds are written as f32x4.relaxed_madd; scripts/build-kernels.ts also builds this module with each one rewritten as
;; f32x4.add(f32x4.mul(a, b), c) for engines without relaxed SIMD. Arrays are byte offsets; the last K % 4
;; values of a row are done one at a time (no access past an array's end).
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

  ;; y [M, N] = x [M, K] · Wᵀ
  (func (export "forward")
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

;; dx [M, K] = dy [M, N] · W, four rows of W at a time (scratch: 4·K floats; rows past N are zeros)
  (func (export "backward")
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
)
