/**
 * The generator of scalpel's packed matrix-product kernels: WebAssembly text for one register tile
 * size and one arithmetic variant. `npm run build:kernels` assembles the shipped configurations
 * into `matMulBinary.ts`; tests assemble other tile sizes to check that they give the same bits.
 *
 * The kernel computes C ← C + op(A)·op(B) block by block, the GotoBLAS way (Goto & van de Geijn,
 * "Anatomy of high-performance matrix multiplication", ACM TOMS 34(3), 2008): the caller packs a
 * kc-deep slice of op(B) into panels of 8 columns (`packB`) and an mc×kc block of op(A) into
 * panels of `rows` rows (`packA`), both zero-padded, and `macro` runs the register tile over every
 * (row panel, column panel) pair. The tile keeps `rows`×8 sums in 2·`rows` f32x4 registers; each
 * step p loads 8 values of B, splats one value of A per row and adds its products. The packing
 * reads A and B through (row, column) strides, so every transpose layout costs only the packing.
 *
 * The order of the sums is fixed: c_ij is accumulated in float32 as ((c⁰_ij + a_i0·b_0j) + a_i1·b_1j)
 * + … in increasing p, whatever `rows`, kc or mc are, because each tile loads its partial sums from C
 * and stores them back between kc blocks and the lanes of a vector are independent. So tile and
 * block sizes do not change the bits. The `plain` variant rounds the product and the sum
 * separately (f32x4.mul then f32x4.add: the same bits on every engine); the `relaxed` variant uses
 * `f32x4.relaxed_madd`, which the engine may fuse (one rounding) or not, depending on the CPU.
 */

/** One kernel configuration. */
export interface MatMulKernelConfig {
  /** Rows of the register tile (its columns are 8: two f32x4 vectors). 1 to 7 (2·rows + 3 ≤ 16 vector registers). */
  readonly rows: number
  /** Use `f32x4.relaxed_madd` (relaxed SIMD) instead of `f32x4.mul` + `f32x4.add`. */
  readonly relaxed: boolean
}

const lines = (parts: ReadonlyArray<string>): string => parts.join("\n")
const range = (n: number): ReadonlyArray<number> => Array.from({ length: n }, (_, i) => i)

/** The register tile: C[rows×8] (row stride `ldc` bytes) += Ap[kc×rows]ᵀ·Bp[kc×8]. */
const tile = ({ rows, relaxed }: MatMulKernelConfig): string => {
  const acc = (r: number, h: number) => `$c${r}_${h}`
  const rowAddress = (r: number) => (r === 0 ? "(local.get $c)" : `(i32.add (local.get $c) (i32.mul (i32.const ${r}) (local.get $ldc)))`)
  const update = (r: number, h: number) =>
    relaxed
      ? `(local.set ${acc(r, h)} (f32x4.relaxed_madd (local.get $a) (local.get $b${h}) (local.get ${acc(r, h)})))`
      : `(local.set ${acc(r, h)} (f32x4.add (local.get ${acc(r, h)}) (f32x4.mul (local.get $a) (local.get $b${h}))))`
  return lines([
    `(func $tile (param $kc i32) (param $ap i32) (param $bp i32) (param $c i32) (param $ldc i32)`,
    `  (local $end i32) (local $a v128) (local $b0 v128) (local $b1 v128)`,
    ...range(rows).map((r) => `  (local ${acc(r, 0)} v128) (local ${acc(r, 1)} v128)`),
    ...range(rows).flatMap((r) => [
      `  (local.set ${acc(r, 0)} (v128.load ${rowAddress(r)}))`,
      `  (local.set ${acc(r, 1)} (v128.load offset=16 ${rowAddress(r)}))`,
    ]),
    `  (local.set $end (i32.add (local.get $bp) (i32.shl (local.get $kc) (i32.const 5))))`,
    `  (block $done (loop $step`,
    `    (br_if $done (i32.ge_u (local.get $bp) (local.get $end)))`,
    `    (local.set $b0 (v128.load (local.get $bp)))`,
    `    (local.set $b1 (v128.load offset=16 (local.get $bp)))`,
    ...range(rows).flatMap((r) => [`    (local.set $a (v128.load32_splat offset=${4 * r} (local.get $ap)))`, `    ${update(r, 0)}`, `    ${update(r, 1)}`]),
    `    (local.set $ap (i32.add (local.get $ap) (i32.const ${4 * rows})))`,
    `    (local.set $bp (i32.add (local.get $bp) (i32.const 32)))`,
    `    (br $step)))`,
    ...range(rows).flatMap((r) => [
      `  (v128.store ${rowAddress(r)} (local.get ${acc(r, 0)}))`,
      `  (v128.store offset=16 ${rowAddress(r)} (local.get ${acc(r, 1)}))`,
    ]),
    `)`,
  ])
}

/** Copy a rows×cols corner of C into the rows×8 scratch tile (zeros elsewhere), or back. */
const edgeCopies = ({ rows }: MatMulKernelConfig): string =>
  lines([
    `(func $copyIn (param $c i32) (param $ldc i32) (param $t i32) (param $rows i32) (param $cols i32)`,
    `  (local $r i32) (local $j i32)`,
    ...range(2 * rows).map((i) => `  (v128.store offset=${16 * i} (local.get $t) (v128.const i32x4 0 0 0 0))`),
    `  (block $rdone (loop $row`,
    `    (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))`,
    `    (local.set $j (i32.const 0))`,
    `    (block $jdone (loop $col`,
    `      (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))`,
    `      (f32.store (i32.add (local.get $t) (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $j)) (i32.const 2)))`,
    `        (f32.load (i32.add (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2)))))`,
    `      (local.set $j (i32.add (local.get $j) (i32.const 1)))`,
    `      (br $col)))`,
    `    (local.set $r (i32.add (local.get $r) (i32.const 1)))`,
    `    (br $row)))`,
    `)`,
    `(func $copyOut (param $t i32) (param $c i32) (param $ldc i32) (param $rows i32) (param $cols i32)`,
    `  (local $r i32) (local $j i32)`,
    `  (block $rdone (loop $row`,
    `    (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))`,
    `    (local.set $j (i32.const 0))`,
    `    (block $jdone (loop $col`,
    `      (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))`,
    `      (f32.store (i32.add (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 2)))`,
    `        (f32.load (i32.add (local.get $t) (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $j)) (i32.const 2)))))`,
    `      (local.set $j (i32.add (local.get $j) (i32.const 1)))`,
    `      (br $col)))`,
    `    (local.set $r (i32.add (local.get $r) (i32.const 1)))`,
    `    (br $row)))`,
    `)`,
  ])

/**
 * `macro(mc, nc, kc, ap, bp, c, ldc, scratch)`: every tile of an mc×nc block of C (row stride ldc
 * bytes) from packed panels; edge tiles go through the scratch tile (rows×8 floats).
 */
const macro = ({ rows }: MatMulKernelConfig): string =>
  lines([
    `(func (export "macro") (param $mc i32) (param $nc i32) (param $kc i32) (param $ap i32) (param $bp i32) (param $c i32) (param $ldc i32) (param $scratch i32)`,
    `  (local $jr i32) (local $ir i32) (local $rows i32) (local $cols i32) (local $bpanel i32) (local $apanel i32) (local $cp i32) (local $left i32)`,
    `  (block $jdone (loop $jloop`,
    `    (br_if $jdone (i32.ge_u (local.get $jr) (local.get $nc)))`,
    `    (local.set $left (i32.sub (local.get $nc) (local.get $jr)))`,
    `    (local.set $cols (select (i32.const 8) (local.get $left) (i32.ge_u (local.get $left) (i32.const 8))))`,
    `    (local.set $bpanel (i32.add (local.get $bp) (i32.mul (local.get $jr) (i32.shl (local.get $kc) (i32.const 2)))))`,
    `    (local.set $ir (i32.const 0))`,
    `    (block $idone (loop $iloop`,
    `      (br_if $idone (i32.ge_u (local.get $ir) (local.get $mc)))`,
    `      (local.set $left (i32.sub (local.get $mc) (local.get $ir)))`,
    `      (local.set $rows (select (i32.const ${rows}) (local.get $left) (i32.ge_u (local.get $left) (i32.const ${rows}))))`,
    `      (local.set $apanel (i32.add (local.get $ap) (i32.mul (local.get $ir) (i32.shl (local.get $kc) (i32.const 2)))))`,
    `      (local.set $cp (i32.add (i32.add (local.get $c) (i32.mul (local.get $ir) (local.get $ldc))) (i32.shl (local.get $jr) (i32.const 2))))`,
    `      (if (i32.and (i32.eq (local.get $rows) (i32.const ${rows})) (i32.eq (local.get $cols) (i32.const 8)))`,
    `        (then (call $tile (local.get $kc) (local.get $apanel) (local.get $bpanel) (local.get $cp) (local.get $ldc)))`,
    `        (else`,
    `          (call $copyIn (local.get $cp) (local.get $ldc) (local.get $scratch) (local.get $rows) (local.get $cols))`,
    `          (call $tile (local.get $kc) (local.get $apanel) (local.get $bpanel) (local.get $scratch) (i32.const 32))`,
    `          (call $copyOut (local.get $scratch) (local.get $cp) (local.get $ldc) (local.get $rows) (local.get $cols))))`,
    `      (local.set $ir (i32.add (local.get $ir) (i32.const ${rows})))`,
    `      (br $iloop)))`,
    `    (local.set $jr (i32.add (local.get $jr) (i32.const 8)))`,
    `    (br $jloop)))`,
    `)`,
  ])

/**
 * `packA(src, dst, rows, kc, si, sp)`: op(A)'s block of `rows` rows and kc columns, entry (i, p) at
 * src + i·si + p·sp (strides in bytes), into panels of `rows` rows: dst[(panel·kc + p)·R + r].
 */
const packA = ({ rows }: MatMulKernelConfig): string =>
  lines([
    `(func (export "packA") (param $src i32) (param $dst i32) (param $rows i32) (param $kc i32) (param $si i32) (param $sp i32)`,
    `  (local $i0 i32) (local $p i32) (local $at i32) (local $left i32)`,
    `  (block $idone (loop $panel`,
    `    (br_if $idone (i32.ge_u (local.get $i0) (local.get $rows)))`,
    `    (local.set $left (i32.sub (local.get $rows) (local.get $i0)))`,
    `    (local.set $at (i32.add (local.get $src) (i32.mul (local.get $i0) (local.get $si))))`,
    `    (local.set $p (i32.const 0))`,
    `    (block $pdone (loop $step`,
    `      (br_if $pdone (i32.ge_u (local.get $p) (local.get $kc)))`,
    ...range(rows).map(
      (r) =>
        `      (f32.store offset=${4 * r} (local.get $dst) ${
          r === 0
            ? "(f32.load (local.get $at))"
            : `(if (result f32) (i32.gt_u (local.get $left) (i32.const ${r})) (then (f32.load (i32.add (local.get $at) (i32.mul (i32.const ${r}) (local.get $si))))) (else (f32.const 0)))`
        })`,
    ),
    `      (local.set $dst (i32.add (local.get $dst) (i32.const ${4 * rows})))`,
    `      (local.set $at (i32.add (local.get $at) (local.get $sp)))`,
    `      (local.set $p (i32.add (local.get $p) (i32.const 1)))`,
    `      (br $step)))`,
    `    (local.set $i0 (i32.add (local.get $i0) (i32.const ${rows})))`,
    `    (br $panel)))`,
    `)`,
  ])

/**
 * `packB(src, dst, kc, cols, sp, sj)`: op(B)'s kc×cols slice, entry (p, j) at src + p·sp + j·sj,
 * into panels of 8 columns: dst[(panel·kc + p)·8 + j]; contiguous rows (sj = 4) copy as vectors.
 */
const packB = (): string =>
  lines([
    `(func (export "packB") (param $src i32) (param $dst i32) (param $kc i32) (param $cols i32) (param $sp i32) (param $sj i32)`,
    `  (local $j0 i32) (local $p i32) (local $at i32) (local $left i32) (local $vector i32)`,
    `  (block $jdone (loop $panel`,
    `    (br_if $jdone (i32.ge_u (local.get $j0) (local.get $cols)))`,
    `    (local.set $left (i32.sub (local.get $cols) (local.get $j0)))`,
    `    (local.set $vector (i32.and (i32.ge_u (local.get $left) (i32.const 8)) (i32.eq (local.get $sj) (i32.const 4))))`,
    `    (local.set $at (i32.add (local.get $src) (i32.mul (local.get $j0) (local.get $sj))))`,
    `    (local.set $p (i32.const 0))`,
    `    (block $pdone (loop $step`,
    `      (br_if $pdone (i32.ge_u (local.get $p) (local.get $kc)))`,
    `      (if (local.get $vector)`,
    `        (then`,
    `          (v128.store (local.get $dst) (v128.load (local.get $at)))`,
    `          (v128.store offset=16 (local.get $dst) (v128.load offset=16 (local.get $at))))`,
    `        (else`,
    ...range(8).map(
      (j) =>
        `          (f32.store offset=${4 * j} (local.get $dst) ${
          j === 0
            ? "(f32.load (local.get $at))"
            : `(if (result f32) (i32.gt_u (local.get $left) (i32.const ${j})) (then (f32.load (i32.add (local.get $at) (i32.mul (i32.const ${j}) (local.get $sj))))) (else (f32.const 0)))`
        })`,
    ),
    `        ))`,
    `      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))`,
    `      (local.set $at (i32.add (local.get $at) (local.get $sp)))`,
    `      (local.set $p (i32.add (local.get $p) (i32.const 1)))`,
    `      (br $step)))`,
    `    (local.set $j0 (i32.add (local.get $j0) (i32.const 8)))`,
    `    (br $panel)))`,
    `)`,
  ])

/** `clamp(ptr, count, lo, hi)`: x ← min(max(x, lo), hi) in place (relu: lo 0, hi +∞; relu6: hi 6). NaN stays NaN. */
const clamp = (): string =>
  lines([
    `(func (export "clamp") (param $x i32) (param $count i32) (param $lo f32) (param $hi f32)`,
    `  (local $end i32) (local $vend i32) (local $vlo v128) (local $vhi v128)`,
    `  (local.set $vlo (f32x4.splat (local.get $lo)))`,
    `  (local.set $vhi (f32x4.splat (local.get $hi)))`,
    `  (local.set $end (i32.add (local.get $x) (i32.shl (local.get $count) (i32.const 2))))`,
    `  (local.set $vend (i32.add (local.get $x) (i32.shl (i32.and (local.get $count) (i32.const -4)) (i32.const 2))))`,
    `  (block $vdone (loop $v`,
    `    (br_if $vdone (i32.ge_u (local.get $x) (local.get $vend)))`,
    `    (v128.store (local.get $x) (f32x4.min (f32x4.max (v128.load (local.get $x)) (local.get $vlo)) (local.get $vhi)))`,
    `    (local.set $x (i32.add (local.get $x) (i32.const 16)))`,
    `    (br $v)))`,
    `  (block $sdone (loop $s`,
    `    (br_if $sdone (i32.ge_u (local.get $x) (local.get $end)))`,
    `    (f32.store (local.get $x) (f32.min (f32.max (f32.load (local.get $x)) (local.get $lo)) (local.get $hi)))`,
    `    (local.set $x (i32.add (local.get $x) (i32.const 4)))`,
    `    (br $s)))`,
    `)`,
  ])

/** The WebAssembly text of the kernel module for `config` (imports `env.memory`, the tfjs backend's). */
export const matMulKernelWat = (config: MatMulKernelConfig): string => {
  if (!Number.isInteger(config.rows) || config.rows < 1 || config.rows > 7) throw new RangeError(`tile rows must be an integer from 1 to 7, got ${config.rows}`)
  return lines([
    `;; Generated by src/core/kernels/matMulWat.ts (rows ${config.rows}, ${config.relaxed ? "relaxed_madd" : "mul + add"}).`,
    `(module`,
    `(import "env" "memory" (memory 0))`,
    tile(config),
    edgeCopies(config),
    macro(config),
    packA(config),
    packB(),
    clamp(),
    `)`,
    ``,
  ])
}

/**
 * The configurations `npm run build:kernels` embeds, by variant name. V8 on x64 allocates 15 vector
 * registers (xmm15 is its scratch register). The relaxed 6×8 tile needs 12 accumulators, two B
 * vectors and one A splat: 15, and `vfmadd231ps` needs no temporary. The plain tile also needs a
 * temporary for each product before its add: at 6×8 that is 16 and TurboFan spills one
 * accumulator to the stack (a load and a store on its dependency chain every k step, seen with
 * `node --no-liftoff --print-wasm-code`), at 5×8 it is 14 and nothing spills.
 */
export const shippedMatMulKernels = {
  plain: { rows: 5, relaxed: false },
  relaxed: { rows: 6, relaxed: true },
} as const satisfies Record<string, MatMulKernelConfig>
