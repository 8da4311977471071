/** `npm run build:kernels`: regenerate `src/core/kernels/sweepsBinary.ts` from `sweeps.wat`. */
import { writeFile } from "node:fs/promises"
import { assembleKernels, binaryModuleText, kernelBinaryModule } from "./kernelAssembly.ts"

const binary = await assembleKernels()
await writeFile(kernelBinaryModule, binaryModuleText(binary))
console.log(`wrote ${kernelBinaryModule.pathname} (${binary.length} bytes of WebAssembly)`)
