;; scalpel's memory sweeps as WebAssembly SIMD: the loops of `hostSweeps.ts`, run on the tensors
;; where the tfjs wasm backend keeps them (this module imports that backend's linear memory).
;;
;; Pointers are byte offsets into the memory, n counts float32 elements. Arithmetic is float64:
;; each group of four float32 lanes is widened to two f64x2 halves, combined, and rounded to
;; float32 once on the store, so `lin2`, `lin3` and `bloop2` give the same bits as the JavaScript
;; loops of `hostSweeps.ts` (same operations, same order, no fused multiply-add in wasm).
;; Dot products accumulate in float64 lanes, so only their summation order differs from a scalar
;; loop (far below float32 resolution).
;;
;; Regenerate the embedded binary after editing: `npm run build:kernels` (a test checks it is current).
(module
  (import "env" "memory" (memory 0))

  ;; Results of dot2, read from JavaScript after the call.
  (global $xy (export "xy") (mut f64) (f64.const 0))
  (global $xz (export "xz") (mut f64) (f64.const 0))

  ;; ⟨x, y⟩ → xy and ⟨x, z⟩ → xz, in one sweep.
  (func (export "dot2") (param $x i32) (param $y i32) (param $z i32) (param $n i32)
    (local $i i32) (local $stop i32) (local $end i32)
    (local $xv v128) (local $yv v128) (local $zv v128) (local $xl v128) (local $xh v128)
    (local $ayl v128) (local $ayh v128) (local $azl v128) (local $azh v128)
    (local $sy f64) (local $sz f64) (local $s f64)
    (local.set $stop (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $xv (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $yv (v128.load (i32.add (local.get $y) (local.get $i))))
        (local.set $zv (v128.load (i32.add (local.get $z) (local.get $i))))
        (local.set $xl (f64x2.promote_low_f32x4 (local.get $xv)))
        (local.set $xh (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $xv) (local.get $xv))))
        (local.set $ayl (f64x2.add (local.get $ayl) (f64x2.mul (local.get $xl) (f64x2.promote_low_f32x4 (local.get $yv)))))
        (local.set $ayh (f64x2.add (local.get $ayh) (f64x2.mul (local.get $xh) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $yv) (local.get $yv))))))
        (local.set $azl (f64x2.add (local.get $azl) (f64x2.mul (local.get $xl) (f64x2.promote_low_f32x4 (local.get $zv)))))
        (local.set $azh (f64x2.add (local.get $azh) (f64x2.mul (local.get $xh) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $zv) (local.get $zv))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (local.set $ayl (f64x2.add (local.get $ayl) (local.get $ayh)))
    (local.set $azl (f64x2.add (local.get $azl) (local.get $azh)))
    (local.set $sy (f64.add (f64x2.extract_lane 0 (local.get $ayl)) (f64x2.extract_lane 1 (local.get $ayl))))
    (local.set $sz (f64.add (f64x2.extract_lane 0 (local.get $azl)) (f64x2.extract_lane 1 (local.get $azl))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f64.promote_f32 (f32.load (i32.add (local.get $x) (local.get $i)))))
        (local.set $sy (f64.add (local.get $sy) (f64.mul (local.get $s) (f64.promote_f32 (f32.load (i32.add (local.get $y) (local.get $i)))))))
        (local.set $sz (f64.add (local.get $sz) (f64.mul (local.get $s) (f64.promote_f32 (f32.load (i32.add (local.get $z) (local.get $i)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail)))
    (global.set $xy (local.get $sy))
    (global.set $xz (local.get $sz)))

  ;; out = ca·a + cb·b
  (func (export "lin2") (param $out i32) (param $a i32) (param $b i32) (param $n i32) (param $ca f64) (param $cb f64)
    (local $i i32) (local $stop i32) (local $end i32)
    (local $av v128) (local $bv v128) (local $cav v128) (local $cbv v128)
    (local.set $cav (f64x2.splat (local.get $ca)))
    (local.set $cbv (f64x2.splat (local.get $cb)))
    (local.set $stop (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $av (v128.load (i32.add (local.get $a) (local.get $i))))
        (local.set $bv (v128.load (i32.add (local.get $b) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $cav) (f64x2.promote_low_f32x4 (local.get $av)))
                (f64x2.mul (local.get $cbv) (f64x2.promote_low_f32x4 (local.get $bv)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $cav) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $av) (local.get $av))))
                (f64x2.mul (local.get $cbv) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $bv) (local.get $bv))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.demote_f64
            (f64.add
              (f64.mul (local.get $ca) (f64.promote_f32 (f32.load (i32.add (local.get $a) (local.get $i)))))
              (f64.mul (local.get $cb) (f64.promote_f32 (f32.load (i32.add (local.get $b) (local.get $i))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

;; out = ca·a + cb·b, as lin2; returns 1 when every value written is finite, 0 otherwise (the
  ;; same x·0 probe as copyFinite, on the rounded float32 results, in the same pass).
  (func (export "lin2Finite") (param $out i32) (param $a i32) (param $b i32) (param $n i32) (param $ca f64) (param $cb f64) (result i32)
    (local $i i32) (local $stop i32) (local $end i32)
    (local $av v128) (local $bv v128) (local $cav v128) (local $cbv v128) (local $r v128) (local $acc v128) (local $s f32)
    (local.set $cav (f64x2.splat (local.get $ca)))
    (local.set $cbv (f64x2.splat (local.get $cb)))
    (local.set $stop (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $av (v128.load (i32.add (local.get $a) (local.get $i))))
        (local.set $bv (v128.load (i32.add (local.get $b) (local.get $i))))
        (local.set $r
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $cav) (f64x2.promote_low_f32x4 (local.get $av)))
                (f64x2.mul (local.get $cbv) (f64x2.promote_low_f32x4 (local.get $bv)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $cav) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $av) (local.get $av))))
                (f64x2.mul (local.get $cbv) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $bv) (local.get $bv))))))))
        (v128.store (i32.add (local.get $out) (local.get $i)) (local.get $r))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $r) (v128.const f32x4 0 0 0 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s
          (f32.demote_f64
            (f64.add
              (f64.mul (local.get $ca) (f64.promote_f32 (f32.load (i32.add (local.get $a) (local.get $i)))))
              (f64.mul (local.get $cb) (f64.promote_f32 (f32.load (i32.add (local.get $b) (local.get $i))))))))
        (f32.store (i32.add (local.get $out) (local.get $i)) (local.get $s))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.splat (f32.mul (local.get $s) (f32.const 0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail)))
    (i32x4.all_true (f32x4.eq (local.get $acc) (local.get $acc))))

    ;; out = (ca·a + cb·b) + cc·c
  (func (export "lin3") (param $out i32) (param $a i32) (param $b i32) (param $c i32) (param $n i32)
    (param $ca f64) (param $cb f64) (param $cc f64)
    (local $i i32) (local $stop i32) (local $end i32)
    (local $av v128) (local $bv v128) (local $cv v128) (local $cav v128) (local $cbv v128) (local $ccv v128)
    (local.set $cav (f64x2.splat (local.get $ca)))
    (local.set $cbv (f64x2.splat (local.get $cb)))
    (local.set $ccv (f64x2.splat (local.get $cc)))
    (local.set $stop (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $av (v128.load (i32.add (local.get $a) (local.get $i))))
        (local.set $bv (v128.load (i32.add (local.get $b) (local.get $i))))
        (local.set $cv (v128.load (i32.add (local.get $c) (local.get $i))))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.add
                  (f64x2.mul (local.get $cav) (f64x2.promote_low_f32x4 (local.get $av)))
                  (f64x2.mul (local.get $cbv) (f64x2.promote_low_f32x4 (local.get $bv))))
                (f64x2.mul (local.get $ccv) (f64x2.promote_low_f32x4 (local.get $cv)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.add
                  (f64x2.mul (local.get $cav) (f64x2.promote_low_f32x4
                    (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $av) (local.get $av))))
                  (f64x2.mul (local.get $cbv) (f64x2.promote_low_f32x4
                    (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $bv) (local.get $bv)))))
                (f64x2.mul (local.get $ccv) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $cv) (local.get $cv))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (f32.demote_f64
            (f64.add
              (f64.add
                (f64.mul (local.get $ca) (f64.promote_f32 (f32.load (i32.add (local.get $a) (local.get $i)))))
                (f64.mul (local.get $cb) (f64.promote_f32 (f32.load (i32.add (local.get $b) (local.get $i))))))
              (f64.mul (local.get $cc) (f64.promote_f32 (f32.load (i32.add (local.get $c) (local.get $i))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; Two-level Bloop's second sweep: d = (g0 + l1·g1) + c·r and e' = keep·e + take·g0.
  (func (export "bloop2") (param $d i32) (param $eo i32) (param $g0 i32) (param $g1 i32) (param $r i32) (param $e i32)
    (param $n i32) (param $l1 f64) (param $c f64) (param $keep f64) (param $take f64)
    (local $i i32) (local $stop i32) (local $end i32)
    (local $av v128) (local $bv v128) (local $rv v128) (local $ev v128)
    (local $al v128) (local $ah v128)
    (local $l1v v128) (local $cv v128) (local $keepv v128) (local $takev v128)
    (local $a f64)
    (local.set $l1v (f64x2.splat (local.get $l1)))
    (local.set $cv (f64x2.splat (local.get $c)))
    (local.set $keepv (f64x2.splat (local.get $keep)))
    (local.set $takev (f64x2.splat (local.get $take)))
    (local.set $stop (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $av (v128.load (i32.add (local.get $g0) (local.get $i))))
        (local.set $bv (v128.load (i32.add (local.get $g1) (local.get $i))))
        (local.set $rv (v128.load (i32.add (local.get $r) (local.get $i))))
        (local.set $ev (v128.load (i32.add (local.get $e) (local.get $i))))
        (local.set $al (f64x2.promote_low_f32x4 (local.get $av)))
        (local.set $ah (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $av) (local.get $av))))
        (v128.store (i32.add (local.get $d) (local.get $i))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.add (local.get $al) (f64x2.mul (local.get $l1v) (f64x2.promote_low_f32x4 (local.get $bv))))
                (f64x2.mul (local.get $cv) (f64x2.promote_low_f32x4 (local.get $rv)))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.add (local.get $ah) (f64x2.mul (local.get $l1v) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $bv) (local.get $bv)))))
                (f64x2.mul (local.get $cv) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $rv) (local.get $rv))))))))
        (v128.store (i32.add (local.get $eo) (local.get $i))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $keepv) (f64x2.promote_low_f32x4 (local.get $ev)))
                (f64x2.mul (local.get $takev) (local.get $al))))
            (f32x4.demote_f64x2_zero
              (f64x2.add
                (f64x2.mul (local.get $keepv) (f64x2.promote_low_f32x4
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $ev) (local.get $ev))))
                (f64x2.mul (local.get $takev) (local.get $ah))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $a (f64.promote_f32 (f32.load (i32.add (local.get $g0) (local.get $i)))))
        (f32.store (i32.add (local.get $d) (local.get $i))
          (f32.demote_f64
            (f64.add
              (f64.add (local.get $a) (f64.mul (local.get $l1) (f64.promote_f32 (f32.load (i32.add (local.get $g1) (local.get $i))))))
              (f64.mul (local.get $c) (f64.promote_f32 (f32.load (i32.add (local.get $r) (local.get $i))))))))
        (f32.store (i32.add (local.get $eo) (local.get $i))
          (f32.demote_f64
            (f64.add
              (f64.mul (local.get $keep) (f64.promote_f32 (f32.load (i32.add (local.get $e) (local.get $i)))))
              (f64.mul (local.get $take) (local.get $a)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; out = Σ_t c_t·v_t over a table of `count` 16-byte entries (pointer i32, 4 bytes unused,
;; coefficient f64), summed in table order from 0 like the JavaScript loop, rounded once.
  (func (export "linN") (param $out i32) (param $table i32) (param $count i32) (param $n i32)
    (local $i i32) (local $stop i32) (local $end i32) (local $t i32) (local $entry i32) (local $tableEnd i32)
    (local $v v128) (local $c v128) (local $lo v128) (local $hi v128) (local $s f64)
    (local.set $stop (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $tableEnd (i32.add (local.get $table) (i32.shl (local.get $count) (i32.const 4))))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $lo (v128.const f64x2 0 0))
        (local.set $hi (v128.const f64x2 0 0))
        (local.set $entry (local.get $table))
        (block $termsDone
          (loop $terms
            (br_if $termsDone (i32.ge_u (local.get $entry) (local.get $tableEnd)))
            (local.set $v (v128.load (i32.add (i32.load (local.get $entry)) (local.get $i))))
            (local.set $c (f64x2.splat (f64.load offset=8 (local.get $entry))))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.mul (local.get $c) (f64x2.promote_low_f32x4 (local.get $v)))))
            (local.set $hi (f64x2.add (local.get $hi) (f64x2.mul (local.get $c) (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))))))
            (local.set $entry (i32.add (local.get $entry) (i32.const 16)))
            (br $terms)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f32x4.demote_f64x2_zero (local.get $lo))
            (f32x4.demote_f64x2_zero (local.get $hi))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f64.const 0))
        (local.set $entry (local.get $table))
        (block $termsDone
          (loop $terms
            (br_if $termsDone (i32.ge_u (local.get $entry) (local.get $tableEnd)))
            (local.set $s (f64.add (local.get $s) (f64.mul (f64.load offset=8 (local.get $entry))
              (f64.promote_f32 (f32.load (i32.add (i32.load (local.get $entry)) (local.get $i)))))))
            (local.set $entry (i32.add (local.get $entry) (i32.const 16)))
            (br $terms)))
        (f32.store (i32.add (local.get $out) (local.get $i)) (f32.demote_f64 (local.get $s)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail))))

  ;; Copy n floats from src to dst; returns 1 when all of them are finite, 0 otherwise
  ;; (x·0 is 0 for finite x and NaN for ±∞ and NaN, and a NaN survives the sum).
  (func (export "copyFinite") (param $dst i32) (param $src i32) (param $n i32) (result i32)
    (local $i i32) (local $stop i32) (local $end i32)
    (local $v v128) (local $acc v128) (local $s f32)
    (local.set $stop (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (block $vectorDone
      (loop $vector
        (br_if $vectorDone (i32.ge_u (local.get $i) (local.get $stop)))
        (local.set $v (v128.load (i32.add (local.get $src) (local.get $i))))
        (v128.store (i32.add (local.get $dst) (local.get $i)) (local.get $v))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (local.get $v) (v128.const f32x4 0 0 0 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $vector)))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $s (f32.load (i32.add (local.get $src) (local.get $i))))
        (f32.store (i32.add (local.get $dst) (local.get $i)) (local.get $s))
        (local.set $acc (f32x4.add (local.get $acc) (f32x4.splat (f32.mul (local.get $s) (f32.const 0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $tail)))
    (i32x4.all_true (f32x4.eq (local.get $acc) (local.get $acc)))))
