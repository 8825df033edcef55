;; Fused causal-aware attention, forward and backward (FlashAttention's, recomputing P), in WebAssembly
;; SIMD128. Compiled by scripts/build-kernels.ts into attention-wasm.ts (npm run build:kernels).
;;
;; The memory is imported (env.mem) and exported again as "mem": the kernel runs either in a memory of its
;; own or in place on tfjs-backend-wasm's heap (scripts/build-kernels.ts also builds a variant whose import
;; is shared, for tfjs's threaded build).
;;
;; Layouts (f32, byte offsets into the memory; every array is laid out by the caller):
;;   q, out, dO, dq  [n, R, hd]        k (backward only)  [n, S, hd]      v (forward only)  [n, S, hd]
;;   kT, vT, dkT, dvT  [n, hd, Sp]     keys along the last axis, Sp = S rounded up to 16, zero padding
;;   bias  [1 | n, R, Sp]  additive mask, padding columns hold -1e30
;;   kEnd  [1 | n, R] i32  1 + the last key of each row whose bias is not masked (in 1..S)
;;   m, l  [n, R]          row max and row sum of exp(s - m); the backward takes m and 1/l (not
;;                         lse = m + log l, which loses log l next to a fully masked row's m ≈ -1e9)
;;   scr  Sp floats of scratch
;; Scores are computed 16 keys at a time (four f32x4 accumulators, one splat of q[d] per step over
;; hd) up to kEnd rounded up to 16: the keys past kEnd are masked, so their exp is exactly 0.
(module
  (import "env" "mem" (memory $mem 1))
  (export "mem" (memory $mem))

;; e^x in place over [ptr, end) (16-byte steps), after subtracting `shift` from every value; returns
  ;; the lane-wise sum of the results. Per four lanes: x = n·ln2 + r with |r| <= ln2/2 (ln2 split in two
  ;; for the subtraction), a degree-7 Taylor polynomial for e^r, times 2^n built in the exponent bits.
  ;; Inputs below the smallest normal result give exactly 0; inputs above 88.3 are clamped. (One loop
  ;; rather than a per-vector function: V8 in Node 20 does not inline wasm calls.)
  (func $expRange (param $ptr i32) (param $end i32) (param $shift v128) (result v128)
    (local $x v128) (local $under v128) (local $n v128) (local $r v128) (local $p v128) (local $sum v128)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $x (f32x4.sub (v128.load (local.get $ptr)) (local.get $shift)))
        (local.set $under
          (f32x4.lt (local.get $x) (v128.const f32x4 -87.33654 -87.33654 -87.33654 -87.33654)))
        (local.set $x
          (f32x4.min
            (f32x4.max (local.get $x) (v128.const f32x4 -87.33654 -87.33654 -87.33654 -87.33654))
            (v128.const f32x4 88.3 88.3 88.3 88.3)))
        (local.set $n
          (f32x4.nearest
            (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))))
        (local.set $r
          (f32x4.sub (local.get $x)
            (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
        (local.set $r
          (f32x4.sub (local.get $r)
            (f32x4.mul (local.get $n)
              (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
        ;; Horner: 1 + r(1 + r(1/2 + r(1/6 + r(1/24 + r(1/120 + r(1/720 + r/5040))))))
        (local.set $p (v128.const f32x4 1.98412698e-4 1.98412698e-4 1.98412698e-4 1.98412698e-4))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
          (v128.const f32x4 1.38888889e-3 1.38888889e-3 1.38888889e-3 1.38888889e-3)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
          (v128.const f32x4 8.33333333e-3 8.33333333e-3 8.33333333e-3 8.33333333e-3)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
          (v128.const f32x4 4.16666667e-2 4.16666667e-2 4.16666667e-2 4.16666667e-2)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
          (v128.const f32x4 1.66666667e-1 1.66666667e-1 1.66666667e-1 1.66666667e-1)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
          (v128.const f32x4 0.5 0.5 0.5 0.5)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
          (v128.const f32x4 1 1 1 1)))
        (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
          (v128.const f32x4 1 1 1 1)))
        (local.set $p
          (v128.andnot
            (f32x4.mul (local.get $p)
              (i32x4.shl
                (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127)))
                (i32.const 23)))
            (local.get $under)))
        (v128.store (local.get $ptr) (local.get $p))
        (local.set $sum (f32x4.add (local.get $sum) (local.get $p)))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br $top)))
    (local.get $sum))

  ;; In place e^x over len floats at ptr (len a multiple of 4): the tests' view of the exp.
  (func (export "expArray") (param $ptr i32) (param $len i32)
    (drop (call $expRange (local.get $ptr) (i32.add (local.get $ptr) (i32.shl (local.get $len) (i32.const 2)))
      (v128.const i32x4 0 0 0 0))))

;; Zeroes [ptr, ptr + bytes) (bulk memory: a JS fill over tfjs's shared heap runs element by element).
  (func (export "zero") (param $ptr i32) (param $bytes i32)
    (memory.fill (local.get $ptr) (i32.const 0) (local.get $bytes)))

  ;; x := 1 / x over count floats at ptr.
  (func (export "reciprocal") (param $ptr i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $ptr) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (f32.store (local.get $ptr) (f32.div (f32.const 1) (f32.load (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (br $next))))

  ;; Layout moves (the caller's tensors ↔ the kernel's arrays). Offsets are byte offsets into src (or
  ;; dst) of each row, one i32 per row; rows are hd floats, hdB = 4·hd bytes (a multiple of 16).
  ;; gatherRows: dst[i] = src[offs[i]], rows packed one after another.
  (func (export "gatherRows") (param $dst i32) (param $src i32) (param $offs i32) (param $count i32) (param $hdB i32)
    (local $end i32) (local $s i32) (local $k i32)
    (local.set $end (i32.add (local.get $offs) (i32.shl (local.get $count) (i32.const 2))))
    (loop $rows
      (local.set $s (i32.add (local.get $src) (i32.load (local.get $offs))))
      (local.set $k (i32.const 0))
      (loop $cols
        (v128.store (i32.add (local.get $dst) (local.get $k)) (v128.load (i32.add (local.get $s) (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $cols (i32.lt_u (local.get $k) (local.get $hdB))))
      (local.set $dst (i32.add (local.get $dst) (local.get $hdB)))
      (local.set $offs (i32.add (local.get $offs) (i32.const 4)))
      (br_if $rows (i32.lt_u (local.get $offs) (local.get $end)))))

  ;; scatterRows: dst[offs[i]] = src[i] (the inverse of gatherRows).
  (func (export "scatterRows") (param $dst i32) (param $src i32) (param $offs i32) (param $count i32) (param $hdB i32)
    (local $end i32) (local $t i32) (local $k i32)
    (local.set $end (i32.add (local.get $offs) (i32.shl (local.get $count) (i32.const 2))))
    (loop $rows
      (local.set $t (i32.add (local.get $dst) (i32.load (local.get $offs))))
      (local.set $k (i32.const 0))
      (loop $cols
        (v128.store (i32.add (local.get $t) (local.get $k)) (v128.load (i32.add (local.get $src) (local.get $k))))
        (local.set $k (i32.add (local.get $k) (i32.const 16)))
        (br_if $cols (i32.lt_u (local.get $k) (local.get $hdB))))
      (local.set $src (i32.add (local.get $src) (local.get $hdB)))
      (local.set $offs (i32.add (local.get $offs) (i32.const 4)))
      (br_if $rows (i32.lt_u (local.get $offs) (local.get $end)))))

  ;; transposeIn: key rows src[offs[p·S + j]] → dst [n, hd, Sp] (dst[p, d, j]); padding left as it is
  ;; (the caller zeroes it).
  (func (export "transposeIn")
    (param $dst i32) (param $src i32) (param $offs i32) (param $n i32) (param $S i32) (param $hd i32) (param $Sp i32)
    (local $p i32) (local $j i32) (local $d i32) (local $s i32) (local $t i32) (local $SpB i32)
    (local.set $SpB (i32.shl (local.get $Sp) (i32.const 2)))
    (local.set $p (i32.const 0))
    (loop $pairs
      (local.set $j (i32.const 0))
      (loop $keys
        (local.set $s (i32.add (local.get $src) (i32.load (local.get $offs))))
        (local.set $t (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $d (i32.const 0))
        (loop $dims
          (f32.store (local.get $t) (f32.load (local.get $s)))
          (local.set $t (i32.add (local.get $t) (local.get $SpB)))
          (local.set $s (i32.add (local.get $s) (i32.const 4)))
          (local.set $d (i32.add (local.get $d) (i32.const 1)))
          (br_if $dims (i32.lt_u (local.get $d) (local.get $hd))))
        (local.set $offs (i32.add (local.get $offs) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $keys (i32.lt_u (local.get $j) (local.get $S))))
      (local.set $dst (i32.add (local.get $dst) (i32.mul (local.get $hd) (local.get $SpB))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $pairs (i32.lt_u (local.get $p) (local.get $n)))))

  ;; transposeOut: src [n, hd, Sp] → key rows dst[offs[p·S + j]] (the inverse of transposeIn).
  (func (export "transposeOut")
    (param $dst i32) (param $src i32) (param $offs i32) (param $n i32) (param $S i32) (param $hd i32) (param $Sp i32)
    (local $p i32) (local $j i32) (local $d i32) (local $s i32) (local $t i32) (local $SpB i32)
    (local.set $SpB (i32.shl (local.get $Sp) (i32.const 2)))
    (local.set $p (i32.const 0))
    (loop $pairs
      (local.set $j (i32.const 0))
      (loop $keys
        (local.set $t (i32.add (local.get $dst) (i32.load (local.get $offs))))
        (local.set $s (i32.add (local.get $src) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $d (i32.const 0))
        (loop $dims
          (f32.store (local.get $t) (f32.load (local.get $s)))
          (local.set $s (i32.add (local.get $s) (local.get $SpB)))
          (local.set $t (i32.add (local.get $t) (i32.const 4)))
          (local.set $d (i32.add (local.get $d) (i32.const 1)))
          (br_if $dims (i32.lt_u (local.get $d) (local.get $hd))))
        (local.set $offs (i32.add (local.get $offs) (i32.const 4)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $keys (i32.lt_u (local.get $j) (local.get $S))))
      (local.set $src (i32.add (local.get $src) (i32.mul (local.get $hd) (local.get $SpB))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $pairs (i32.lt_u (local.get $p) (local.get $n)))))

  (func $hsum (param $x v128) (result f32)
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 1 (local.get $x)))
      (f32.add (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 3 (local.get $x)))))

  (func $hmax (param $x v128) (result f32)
    (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $x)) (f32x4.extract_lane 1 (local.get $x)))
      (f32.max (f32x4.extract_lane 2 (local.get $x)) (f32x4.extract_lane 3 (local.get $x)))))

  ;; Forward: out = softmax(scale·q·kᵀ + bias)·v, and per row m and l.
  (func (export "forward")
    (param $n i32) (param $R i32) (param $S i32) (param $Sp i32) (param $hd i32)
    (param $q i32) (param $kT i32) (param $v i32) (param $bias i32) (param $biasPair i32)
    (param $kEnd i32) (param $out i32) (param $mOut i32) (param $lOut i32) (param $scale f32)
    (param $scr i32)
    (local $p i32) (local $r i32) (local $j i32) (local $d i32) (local $row i32)
    (local $SpB i32) (local $hdB i32) (local $kTp i32) (local $vp i32) (local $biasP i32)
    (local $kEndP i32) (local $qRow i32) (local $bRow i32) (local $oRow i32) (local $ke i32)
    (local $ke16 i32) (local $addr i32) (local $addr2 i32) (local $sp i32)
    (local $sc v128) (local $qs v128) (local $mx v128) (local $ms v128)
    (local $ls v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $m f32) (local $l f32)
    (local.set $SpB (i32.shl (local.get $Sp) (i32.const 2)))
    (local.set $hdB (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $sc (f32x4.splat (local.get $scale)))
    (local.set $p (i32.const 0))
    (loop $pairs
      (local.set $kTp (i32.add (local.get $kT) (i32.mul (local.get $p) (i32.mul (local.get $hd) (local.get $SpB)))))
      (local.set $vp (i32.add (local.get $v) (i32.mul (local.get $p) (i32.mul (local.get $S) (local.get $hdB)))))
      (local.set $biasP (local.get $bias))
      (local.set $kEndP (local.get $kEnd))
      (if (local.get $biasPair)
        (then
          (local.set $biasP (i32.add (local.get $bias)
            (i32.mul (local.get $p) (i32.mul (local.get $R) (local.get $SpB)))))
          (local.set $kEndP (i32.add (local.get $kEnd)
            (i32.mul (local.get $p) (i32.shl (local.get $R) (i32.const 2)))))))
      (local.set $r (i32.const 0))
      (loop $rows
        (local.set $row (i32.add (i32.mul (local.get $p) (local.get $R)) (local.get $r)))
        (local.set $qRow (i32.add (local.get $q) (i32.mul (local.get $row) (local.get $hdB))))
        (local.set $oRow (i32.add (local.get $out) (i32.mul (local.get $row) (local.get $hdB))))
        (local.set $bRow (i32.add (local.get $biasP) (i32.mul (local.get $r) (local.get $SpB))))
        (local.set $ke (i32.load (i32.add (local.get $kEndP) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $ke16 (i32.and (i32.add (local.get $ke) (i32.const 15)) (i32.const -16)))
        ;; scores, 16 keys at a time, and their running max
        (local.set $mx (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $j (i32.const 0))
        (loop $keys
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $addr (i32.add (local.get $kTp) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $addr2 (local.get $qRow))
          (local.set $d (i32.const 0))
          (loop $dims
            (local.set $qs (v128.load32_splat (local.get $addr2)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $qs) (v128.load (local.get $addr)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $qs) (v128.load offset=16 (local.get $addr)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $qs) (v128.load offset=32 (local.get $addr)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $qs) (v128.load offset=48 (local.get $addr)))))
            (local.set $addr (i32.add (local.get $addr) (local.get $SpB)))
            (local.set $addr2 (i32.add (local.get $addr2) (i32.const 4)))
            (local.set $d (i32.add (local.get $d) (i32.const 1)))
            (br_if $dims (i32.lt_u (local.get $d) (local.get $hd))))
          (local.set $addr (i32.add (local.get $bRow) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $a0 (f32x4.add (f32x4.mul (local.get $a0) (local.get $sc)) (v128.load (local.get $addr))))
          (local.set $a1 (f32x4.add (f32x4.mul (local.get $a1) (local.get $sc)) (v128.load offset=16 (local.get $addr))))
          (local.set $a2 (f32x4.add (f32x4.mul (local.get $a2) (local.get $sc)) (v128.load offset=32 (local.get $addr))))
          (local.set $a3 (f32x4.add (f32x4.mul (local.get $a3) (local.get $sc)) (v128.load offset=48 (local.get $addr))))
          (local.set $sp (i32.add (local.get $scr) (i32.shl (local.get $j) (i32.const 2))))
          (v128.store (local.get $sp) (local.get $a0))
          (v128.store offset=16 (local.get $sp) (local.get $a1))
          (v128.store offset=32 (local.get $sp) (local.get $a2))
          (v128.store offset=48 (local.get $sp) (local.get $a3))
          (local.set $mx (f32x4.max (f32x4.max (local.get $mx) (local.get $a0))
                                    (f32x4.max (local.get $a1) (f32x4.max (local.get $a2) (local.get $a3)))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $keys (i32.lt_u (local.get $j) (local.get $ke16))))
        (local.set $m (call $hmax (local.get $mx)))
        ;; p = exp(s - m) in place, l = Σ p
        (local.set $ls (call $expRange (local.get $scr)
          (i32.add (local.get $scr) (i32.shl (local.get $ke16) (i32.const 2))) (f32x4.splat (local.get $m))))
        (local.set $l (call $hsum (local.get $ls)))
        ;; out_r = Σ_j p_j v_j / l over keys j < kEnd
        (local.set $ms (f32x4.splat (f32.div (f32.const 1) (local.get $l))))
        (local.set $d (i32.const 0))
        ;; eight dims per pass over the keys while they last (one splat of p_j feeds two vectors of v)
        (block $$o8done
          (br_if $$o8done (i32.gt_u (i32.const 8) (local.get $hd)))
          (loop $$o8dims
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $addr (i32.add (local.get $vp) (i32.shl (local.get $d) (i32.const 2))))
            (local.set $sp (local.get $scr))
            (local.set $addr2 (i32.add (local.get $scr) (i32.shl (local.get $ke) (i32.const 2))))
            (loop $$o8keys
              (local.set $qs (v128.load32_splat (local.get $sp)))
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $qs) (v128.load (local.get $addr)))))
              (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $qs) (v128.load offset=16 (local.get $addr)))))
              (local.set $addr (i32.add (local.get $addr) (local.get $hdB)))
              (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
              (br_if $$o8keys (i32.lt_u (local.get $sp) (local.get $addr2))))
            (local.set $addr (i32.add (local.get $oRow) (i32.shl (local.get $d) (i32.const 2))))
            (v128.store (local.get $addr) (f32x4.mul (local.get $a0) (local.get $ms)))
            (v128.store offset=16 (local.get $addr) (f32x4.mul (local.get $a1) (local.get $ms)))
            (local.set $d (i32.add (local.get $d) (i32.const 8)))
            (br_if $$o8dims (i32.le_u (i32.add (local.get $d) (i32.const 8)) (local.get $hd)))))
        ;; the last four dims when hd % 8 == 4
        (block $$o4done
          (br_if $$o4done (i32.ge_u (local.get $d) (local.get $hd)))
        (loop $odims
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $addr (i32.add (local.get $vp) (i32.shl (local.get $d) (i32.const 2))))
          (local.set $sp (local.get $scr))
          (local.set $addr2 (i32.add (local.get $scr) (i32.shl (i32.and (local.get $ke) (i32.const -2)) (i32.const 2))))
          ;; two keys per step (two accumulators), then the odd one
          (block $pairsDone
            (br_if $pairsDone (i32.ge_u (local.get $sp) (local.get $addr2)))
            (loop $okeys
              (local.set $a0 (f32x4.add (local.get $a0)
                (f32x4.mul (v128.load32_splat (local.get $sp)) (v128.load (local.get $addr)))))
              (local.set $addr (i32.add (local.get $addr) (local.get $hdB)))
              (local.set $a1 (f32x4.add (local.get $a1)
                (f32x4.mul (v128.load32_splat offset=4 (local.get $sp)) (v128.load (local.get $addr)))))
              (local.set $addr (i32.add (local.get $addr) (local.get $hdB)))
              (local.set $sp (i32.add (local.get $sp) (i32.const 8)))
              (br_if $okeys (i32.lt_u (local.get $sp) (local.get $addr2)))))
          (if (i32.and (local.get $ke) (i32.const 1))
            (then
              (local.set $a0 (f32x4.add (local.get $a0)
                (f32x4.mul (v128.load32_splat (local.get $sp)) (v128.load (local.get $addr)))))))
          (v128.store (i32.add (local.get $oRow) (i32.shl (local.get $d) (i32.const 2)))
            (f32x4.mul (f32x4.add (local.get $a0) (local.get $a1)) (local.get $ms)))
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (br_if $odims (i32.lt_u (local.get $d) (local.get $hd)))))
        (f32.store (i32.add (local.get $mOut) (i32.shl (local.get $row) (i32.const 2))) (local.get $m))
        (f32.store (i32.add (local.get $lOut) (i32.shl (local.get $row) (i32.const 2))) (local.get $l))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $r) (local.get $R))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $pairs (i32.lt_u (local.get $p) (local.get $n)))))

  ;; Backward: given dO and the forward's out, m and 1/l, dq [n, R, hd] (written), dkT and dvT
  ;; [n, hd, Sp] (accumulated: the caller zeroes them).
  (func (export "backward")
    (param $n i32) (param $R i32) (param $S i32) (param $Sp i32) (param $hd i32)
    (param $q i32) (param $k i32) (param $kT i32) (param $vT i32) (param $bias i32) (param $biasPair i32)
    (param $kEnd i32) (param $dO i32) (param $out i32) (param $mIn i32) (param $lInv i32)
    (param $dq i32) (param $dkT i32) (param $dvT i32) (param $scale f32) (param $scr i32)
    (local $p i32) (local $r i32) (local $j i32) (local $d i32) (local $row i32)
    (local $SpB i32) (local $hdB i32) (local $kTp i32) (local $vTp i32) (local $kp i32)
    (local $dkTp i32) (local $dvTp i32) (local $biasP i32)
    (local $kEndP i32) (local $qRow i32) (local $bRow i32) (local $gRow i32) (local $oRow i32)
    (local $ke i32) (local $ke16 i32) (local $addr i32) (local $addr2 i32) (local $addr3 i32)
    (local $sp i32) (local $dd f32)
    (local $sc v128) (local $qs v128) (local $os v128) (local $ds v128) (local $ls v128) (local $li v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $SpB (i32.shl (local.get $Sp) (i32.const 2)))
    (local.set $hdB (i32.shl (local.get $hd) (i32.const 2)))
    (local.set $sc (f32x4.splat (local.get $scale)))
    (local.set $p (i32.const 0))
    (loop $pairs
      (local.set $addr (i32.mul (local.get $p) (i32.mul (local.get $hd) (local.get $SpB))))
      (local.set $kTp (i32.add (local.get $kT) (local.get $addr)))
      (local.set $vTp (i32.add (local.get $vT) (local.get $addr)))
      (local.set $dkTp (i32.add (local.get $dkT) (local.get $addr)))
      (local.set $dvTp (i32.add (local.get $dvT) (local.get $addr)))
      (local.set $kp (i32.add (local.get $k) (i32.mul (local.get $p) (i32.mul (local.get $S) (local.get $hdB)))))
      (local.set $biasP (local.get $bias))
      (local.set $kEndP (local.get $kEnd))
      (if (local.get $biasPair)
        (then
          (local.set $biasP (i32.add (local.get $bias)
            (i32.mul (local.get $p) (i32.mul (local.get $R) (local.get $SpB)))))
          (local.set $kEndP (i32.add (local.get $kEnd)
            (i32.mul (local.get $p) (i32.shl (local.get $R) (i32.const 2)))))))
      (local.set $r (i32.const 0))
      (loop $rows
        (local.set $row (i32.add (i32.mul (local.get $p) (local.get $R)) (local.get $r)))
        (local.set $qRow (i32.add (local.get $q) (i32.mul (local.get $row) (local.get $hdB))))
        (local.set $gRow (i32.add (local.get $dO) (i32.mul (local.get $row) (local.get $hdB))))
        (local.set $oRow (i32.add (local.get $out) (i32.mul (local.get $row) (local.get $hdB))))
        (local.set $bRow (i32.add (local.get $biasP) (i32.mul (local.get $r) (local.get $SpB))))
        (local.set $ke (i32.load (i32.add (local.get $kEndP) (i32.shl (local.get $r) (i32.const 2)))))
        (local.set $ke16 (i32.and (i32.add (local.get $ke) (i32.const 15)) (i32.const -16)))
        ;; D = dO_r · out_r
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $d (i32.const 0))
        (loop $ddims
          (local.set $a0 (f32x4.add (local.get $a0)
            (f32x4.mul (v128.load (i32.add (local.get $gRow) (i32.shl (local.get $d) (i32.const 2))))
                       (v128.load (i32.add (local.get $oRow) (i32.shl (local.get $d) (i32.const 2)))))))
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (br_if $ddims (i32.lt_u (local.get $d) (local.get $hd))))
        (local.set $ds (f32x4.splat (call $hsum (local.get $a0))))
        (local.set $ls (v128.load32_splat (i32.add (local.get $mIn) (i32.shl (local.get $row) (i32.const 2)))))
        (local.set $li (v128.load32_splat (i32.add (local.get $lInv) (i32.shl (local.get $row) (i32.const 2)))))
        (local.set $j (i32.const 0))
        (loop $keys
          ;; s = q_r·k_j (a) and dP = dO_r·v_j (b), 16 keys
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $a2 (v128.const i32x4 0 0 0 0))
          (local.set $a3 (v128.const i32x4 0 0 0 0))
          (local.set $b0 (v128.const i32x4 0 0 0 0))
          (local.set $b1 (v128.const i32x4 0 0 0 0))
          (local.set $b2 (v128.const i32x4 0 0 0 0))
          (local.set $b3 (v128.const i32x4 0 0 0 0))
          (local.set $addr (i32.add (local.get $kTp) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $addr3 (i32.add (local.get $vTp) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $addr2 (i32.const 0))
          (loop $dims
            (local.set $qs (v128.load32_splat (i32.add (local.get $qRow) (local.get $addr2))))
            (local.set $os (v128.load32_splat (i32.add (local.get $gRow) (local.get $addr2))))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $qs) (v128.load (local.get $addr)))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $qs) (v128.load offset=16 (local.get $addr)))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $qs) (v128.load offset=32 (local.get $addr)))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $qs) (v128.load offset=48 (local.get $addr)))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $os) (v128.load (local.get $addr3)))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $os) (v128.load offset=16 (local.get $addr3)))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $os) (v128.load offset=32 (local.get $addr3)))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $os) (v128.load offset=48 (local.get $addr3)))))
            (local.set $addr (i32.add (local.get $addr) (local.get $SpB)))
            (local.set $addr3 (i32.add (local.get $addr3) (local.get $SpB)))
            (local.set $addr2 (i32.add (local.get $addr2) (i32.const 4)))
            (br_if $dims (i32.lt_u (local.get $addr2) (local.get $hdB))))
          ;; p = exp(scale·s + bias − m) / l (into a), dS = p ∘ (dP − D) (into b)
          (local.set $addr (i32.add (local.get $bRow) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $sp (i32.add (local.get $scr) (i32.shl (local.get $j) (i32.const 2))))
          (v128.store (local.get $sp)
            (f32x4.add (f32x4.mul (local.get $a0) (local.get $sc)) (v128.load (local.get $addr))))
          (v128.store offset=16 (local.get $sp)
            (f32x4.add (f32x4.mul (local.get $a1) (local.get $sc)) (v128.load offset=16 (local.get $addr))))
          (v128.store offset=32 (local.get $sp)
            (f32x4.add (f32x4.mul (local.get $a2) (local.get $sc)) (v128.load offset=32 (local.get $addr))))
          (v128.store offset=48 (local.get $sp)
            (f32x4.add (f32x4.mul (local.get $a3) (local.get $sc)) (v128.load offset=48 (local.get $addr))))
          (drop (call $expRange (local.get $sp) (i32.add (local.get $sp) (i32.const 64)) (local.get $ls)))
          (local.set $a0 (f32x4.mul (local.get $li) (v128.load (local.get $sp))))
          (local.set $a1 (f32x4.mul (local.get $li) (v128.load offset=16 (local.get $sp))))
          (local.set $a2 (f32x4.mul (local.get $li) (v128.load offset=32 (local.get $sp))))
          (local.set $a3 (f32x4.mul (local.get $li) (v128.load offset=48 (local.get $sp))))
          (local.set $b0 (f32x4.mul (local.get $a0) (f32x4.sub (local.get $b0) (local.get $ds))))
          (local.set $b1 (f32x4.mul (local.get $a1) (f32x4.sub (local.get $b1) (local.get $ds))))
          (local.set $b2 (f32x4.mul (local.get $a2) (f32x4.sub (local.get $b2) (local.get $ds))))
          (local.set $b3 (f32x4.mul (local.get $a3) (f32x4.sub (local.get $b3) (local.get $ds))))
          (v128.store (local.get $sp) (local.get $b0))
          (v128.store offset=16 (local.get $sp) (local.get $b1))
          (v128.store offset=32 (local.get $sp) (local.get $b2))
          (v128.store offset=48 (local.get $sp) (local.get $b3))
          ;; dkT[d, j..] += scale·q_r[d]·dS, dvT[d, j..] += dO_r[d]·p
          (local.set $addr (i32.add (local.get $dkTp) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $addr3 (i32.add (local.get $dvTp) (i32.shl (local.get $j) (i32.const 2))))
          (local.set $addr2 (i32.const 0))
          (loop $udims
            (local.set $qs (f32x4.mul (v128.load32_splat (i32.add (local.get $qRow) (local.get $addr2))) (local.get $sc)))
            (local.set $os (v128.load32_splat (i32.add (local.get $gRow) (local.get $addr2))))
            (v128.store (local.get $addr)
              (f32x4.add (v128.load (local.get $addr)) (f32x4.mul (local.get $qs) (local.get $b0))))
            (v128.store offset=16 (local.get $addr)
              (f32x4.add (v128.load offset=16 (local.get $addr)) (f32x4.mul (local.get $qs) (local.get $b1))))
            (v128.store offset=32 (local.get $addr)
              (f32x4.add (v128.load offset=32 (local.get $addr)) (f32x4.mul (local.get $qs) (local.get $b2))))
            (v128.store offset=48 (local.get $addr)
              (f32x4.add (v128.load offset=48 (local.get $addr)) (f32x4.mul (local.get $qs) (local.get $b3))))
            (v128.store (local.get $addr3)
              (f32x4.add (v128.load (local.get $addr3)) (f32x4.mul (local.get $os) (local.get $a0))))
            (v128.store offset=16 (local.get $addr3)
              (f32x4.add (v128.load offset=16 (local.get $addr3)) (f32x4.mul (local.get $os) (local.get $a1))))
            (v128.store offset=32 (local.get $addr3)
              (f32x4.add (v128.load offset=32 (local.get $addr3)) (f32x4.mul (local.get $os) (local.get $a2))))
            (v128.store offset=48 (local.get $addr3)
              (f32x4.add (v128.load offset=48 (local.get $addr3)) (f32x4.mul (local.get $os) (local.get $a3))))
            (local.set $addr (i32.add (local.get $addr) (local.get $SpB)))
            (local.set $addr3 (i32.add (local.get $addr3) (local.get $SpB)))
            (local.set $addr2 (i32.add (local.get $addr2) (i32.const 4)))
            (br_if $udims (i32.lt_u (local.get $addr2) (local.get $hdB))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $keys (i32.lt_u (local.get $j) (local.get $ke16))))
        ;; dq_r = scale·Σ_{j<kEnd} dS_j k_j
        (local.set $d (i32.const 0))
        ;; eight dims per pass over the keys while they last (one splat of p_j feeds two vectors of v)
        (block $$q8done
          (br_if $$q8done (i32.gt_u (i32.const 8) (local.get $hd)))
          (loop $$q8dims
            (local.set $a0 (v128.const i32x4 0 0 0 0))
            (local.set $a1 (v128.const i32x4 0 0 0 0))
            (local.set $addr (i32.add (local.get $kp) (i32.shl (local.get $d) (i32.const 2))))
            (local.set $sp (local.get $scr))
            (local.set $addr2 (i32.add (local.get $scr) (i32.shl (local.get $ke) (i32.const 2))))
            (loop $$q8keys
              (local.set $qs (v128.load32_splat (local.get $sp)))
              (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $qs) (v128.load (local.get $addr)))))
              (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $qs) (v128.load offset=16 (local.get $addr)))))
              (local.set $addr (i32.add (local.get $addr) (local.get $hdB)))
              (local.set $sp (i32.add (local.get $sp) (i32.const 4)))
              (br_if $$q8keys (i32.lt_u (local.get $sp) (local.get $addr2))))
            (local.set $addr (i32.add (i32.add (local.get $dq) (i32.mul (local.get $row) (local.get $hdB))) (i32.shl (local.get $d) (i32.const 2))))
            (v128.store (local.get $addr) (f32x4.mul (local.get $a0) (local.get $sc)))
            (v128.store offset=16 (local.get $addr) (f32x4.mul (local.get $a1) (local.get $sc)))
            (local.set $d (i32.add (local.get $d) (i32.const 8)))
            (br_if $$q8dims (i32.le_u (i32.add (local.get $d) (i32.const 8)) (local.get $hd)))))
        ;; the last four dims when hd % 8 == 4
        (block $$q4done
          (br_if $$q4done (i32.ge_u (local.get $d) (local.get $hd)))
        (loop $qdims
          (local.set $a0 (v128.const i32x4 0 0 0 0))
          (local.set $a1 (v128.const i32x4 0 0 0 0))
          (local.set $addr (i32.add (local.get $kp) (i32.shl (local.get $d) (i32.const 2))))
          (local.set $sp (local.get $scr))
          (local.set $addr2 (i32.add (local.get $scr) (i32.shl (i32.and (local.get $ke) (i32.const -2)) (i32.const 2))))
          (block $pairsDone
            (br_if $pairsDone (i32.ge_u (local.get $sp) (local.get $addr2)))
            (loop $qkeys
              (local.set $a0 (f32x4.add (local.get $a0)
                (f32x4.mul (v128.load32_splat (local.get $sp)) (v128.load (local.get $addr)))))
              (local.set $addr (i32.add (local.get $addr) (local.get $hdB)))
              (local.set $a1 (f32x4.add (local.get $a1)
                (f32x4.mul (v128.load32_splat offset=4 (local.get $sp)) (v128.load (local.get $addr)))))
              (local.set $addr (i32.add (local.get $addr) (local.get $hdB)))
              (local.set $sp (i32.add (local.get $sp) (i32.const 8)))
              (br_if $qkeys (i32.lt_u (local.get $sp) (local.get $addr2)))))
          (if (i32.and (local.get $ke) (i32.const 1))
            (then
              (local.set $a0 (f32x4.add (local.get $a0)
                (f32x4.mul (v128.load32_splat (local.get $sp)) (v128.load (local.get $addr)))))))
          (v128.store (i32.add (i32.add (local.get $dq) (i32.mul (local.get $row) (local.get $hdB)))
                               (i32.shl (local.get $d) (i32.const 2)))
            (f32x4.mul (f32x4.add (local.get $a0) (local.get $a1)) (local.get $sc)))
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (br_if $qdims (i32.lt_u (local.get $d) (local.get $hd)))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rows (i32.lt_u (local.get $r) (local.get $R))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $pairs (i32.lt_u (local.get $p) (local.get $n)))))
)
