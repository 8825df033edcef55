;; SwiGLU's elementwise part, forward and backward, in WebAssembly SIMD128: the MLP's
;;   out = silu(g)·u = g·σ(g)·u,   dg = dy·u·σ(g)·(1 + g·(1 − σ(g))),   du = dy·g·σ(g)
;; over n floats, in one pass each instead of tfjs's 3 (forward) and 9 (backward) elementwise ops.
;; σ(g) = 1 / (1 + e^(−g)), with e^x as in attention.wat (n·ln2 + r, degree-7 Taylor polynomial, 2^n in the
;; exponent bits; exactly 0 below −87.34, clamped above 88.3, so σ is exactly 0 or 1 far out).
;; Compiled by scripts/build-kernels.ts into swiglu-wasm.ts (npm run build:kernels); the memory is imported
;; (tfjs-backend-wasm's heap, shared in its threaded build). Arrays are byte offsets; the last n % 4 values
;; are done one lane at a time (no access past an array's end).
(module
  (import "env" "mem" (memory $mem 1))
  (export "mem" (memory $mem))

  (func $exp4 (param $x v128) (result v128)
    (local $under v128) (local $n v128) (local $r v128) (local $p v128)
    (local.set $under (f32x4.lt (local.get $x) (v128.const f32x4 -87.33654 -87.33654 -87.33654 -87.33654)))
    (local.set $x
      (f32x4.min
        (f32x4.max (local.get $x) (v128.const f32x4 -87.33654 -87.33654 -87.33654 -87.33654))
        (v128.const f32x4 88.3 88.3 88.3 88.3)))
    (local.set $n
      (f32x4.nearest (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504 1.44269504 1.44269504 1.44269504))))
    (local.set $r
      (f32x4.sub (local.get $x)
        (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
    (local.set $r
      (f32x4.sub (local.get $r)
        (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (local.set $p (v128.const f32x4 1.98412698e-4 1.98412698e-4 1.98412698e-4 1.98412698e-4))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
      (v128.const f32x4 1.38888889e-3 1.38888889e-3 1.38888889e-3 1.38888889e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
      (v128.const f32x4 8.33333333e-3 8.33333333e-3 8.33333333e-3 8.33333333e-3)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
      (v128.const f32x4 4.16666667e-2 4.16666667e-2 4.16666667e-2 4.16666667e-2)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r))
      (v128.const f32x4 1.66666667e-1 1.66666667e-1 1.66666667e-1 1.66666667e-1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 0.5 0.5 0.5 0.5)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $p) (local.get $r)) (v128.const f32x4 1 1 1 1)))
    (v128.andnot
      (f32x4.mul (local.get $p)
        (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23)))
      (local.get $under)))

  (func $sigmoid4 (param $g v128) (result v128)
    (f32x4.div (v128.const f32x4 1 1 1 1)
      (f32x4.add (v128.const f32x4 1 1 1 1) (call $exp4 (f32x4.neg (local.get $g))))))

  ;; out = g·σ(g)·u
  (func $fwd4 (param $g v128) (param $u v128) (result v128)
    (f32x4.mul (f32x4.mul (local.get $g) (call $sigmoid4 (local.get $g))) (local.get $u)))

  (func (export "forward") (param $g i32) (param $u i32) (param $out i32) (param $n i32)
    (local $i i32) (local $vec i32) (local $o i32)
    (local.set $vec (i32.shl (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 4)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $vec)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (call $fwd4
            (v128.load (i32.add (local.get $g) (local.get $i)))
            (v128.load (i32.add (local.get $u) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $top)))
    (local.set $o (i32.shl (local.get $n) (i32.const 2)))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $o)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32x4.extract_lane 0
            (call $fwd4
              (v128.load32_splat (i32.add (local.get $g) (local.get $i)))
              (v128.load32_splat (i32.add (local.get $u) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; One vector of the backward: writes dg and du at the given addresses (full vectors) or lane 0 (tail).
  (func $bwd4 (param $g v128) (param $u v128) (param $dy v128) (param $dgA i32) (param $duA i32) (param $full i32)
    (local $s v128) (local $dg v128) (local $du v128)
    (local.set $s (call $sigmoid4 (local.get $g)))
    ;; dg = dy·u·σ·(1 + g·(1 − σ))
    (local.set $dg
      (f32x4.mul
        (f32x4.mul (f32x4.mul (local.get $dy) (local.get $u)) (local.get $s))
        (f32x4.add (v128.const f32x4 1 1 1 1)
          (f32x4.mul (local.get $g) (f32x4.sub (v128.const f32x4 1 1 1 1) (local.get $s))))))
    ;; du = dy·g·σ
    (local.set $du (f32x4.mul (local.get $dy) (f32x4.mul (local.get $g) (local.get $s))))
    (if (local.get $full)
      (then
        (v128.store (local.get $dgA) (local.get $dg))
        (v128.store (local.get $duA) (local.get $du)))
      (else
        (f32.store (local.get $dgA) (f32x4.extract_lane 0 (local.get $dg)))
        (f32.store (local.get $duA) (f32x4.extract_lane 0 (local.get $du))))))

  (func (export "backward") (param $g i32) (param $u i32) (param $dy i32) (param $dg i32) (param $du i32) (param $n i32)
    (local $i i32) (local $vec i32) (local $o i32)
    (local.set $vec (i32.shl (i32.shr_u (local.get $n) (i32.const 2)) (i32.const 4)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $vec)))
        (call $bwd4
          (v128.load (i32.add (local.get $g) (local.get $i)))
          (v128.load (i32.add (local.get $u) (local.get $i)))
          (v128.load (i32.add (local.get $dy) (local.get $i)))
          (i32.add (local.get $dg) (local.get $i))
          (i32.add (local.get $du) (local.get $i))
          (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $top)))
    (local.set $o (i32.shl (local.get $n) (i32.const 2)))
    (block $tdone
      (loop $tail
        (br_if $tdone (i32.ge_u (local.get $i) (local.get $o)))
        (call $bwd4
          (v128.load32_splat (i32.add (local.get $g) (local.get $i)))
          (v128.load32_splat (i32.add (local.get $u) (local.get $i)))
          (v128.load32_splat (i32.add (local.get $dy) (local.get $i)))
          (i32.add (local.get $dg) (local.get $i))
          (i32.add (local.get $du) (local.get $i))
          (i32.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))
)
