/** The interpreters scalpel ships, registered by name. */
import { alignedMtl } from "./alignedMtl.ts"
import { bloop, bloopNoEma } from "./bloop.ts"
import { cagrad } from "./cagrad.ts"
import { chainInterpreter } from "./chainInterpreter.ts"
import { config } from "./config.ts"
import { dbMtl } from "./dbMtl.ts"
import { dualProj } from "./dualProj.ts"
import { dwa } from "./dwa.ts"
import { dynamicBarrier } from "./dynamicBarrier.ts"
import { excessMtl } from "./excessMtl.ts"
import { fairGrad } from "./fairGrad.ts"
import { famo } from "./famo.ts"
import { geometricMean } from "./geometricMean.ts"
import { gradDrop } from "./gradDrop.ts"
import { gradNorm } from "./gradNorm.ts"
import { gradVac } from "./gradVac.ts"
import { imtlg } from "./imtlg.ts"
import { krum } from "./krum.ts"
import { mean } from "./mean.ts"
import { mgda } from "./mgda.ts"
import { moCo } from "./moCo.ts"
import { moDo } from "./moDo.ts"
import { nashMtl } from "./nashMtl.ts"
import { pcgrad } from "./pcgrad.ts"
import { primalDual } from "./primalDual.ts"
import { randomWeighting } from "./randomWeighting.ts"
import { makeRegistry, register } from "./registry.ts"
import { sdmGrad } from "./sdmGrad.ts"
import { stch } from "./stch.ts"
import { trimmedMean } from "./trimmedMean.ts"
import { uncertaintyWeighting } from "./uncertaintyWeighting.ts"
import { upgrad } from "./upgrad.ts"
import { weightedSum } from "./weightedSum.ts"

/** The combination rules, without `chain` (which composes them). */
export const builtinRules = makeRegistry([
  bloop,
  bloopNoEma,
  weightedSum,
  mean,
  pcgrad,
  mgda,
  cagrad,
  imtlg,
  upgrad,
  dynamicBarrier,
  primalDual,
  // Gradient aggregators (TorchJD, LibMTL).
  alignedMtl,
  config,
  dualProj,
  fairGrad,
  gradDrop,
  gradVac,
  nashMtl,
  randomWeighting,
  krum,
  trimmedMean,
  excessMtl,
  moCo,
  sdmGrad,
  moDo,
  // Loss-based weightings.
  dwa,
  uncertaintyWeighting,
  famo,
  gradNorm,
  stch,
  geometricMean,
  dbMtl,
])

/** The rules and `chain` over them (transforms from `builtinTransforms`). */
export const builtinInterpreters = register(builtinRules, chainInterpreter(builtinRules))
