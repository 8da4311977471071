/** `npm run build:kernels`: regenerate `src/core/kernels/sweepsBinary.ts` and `matMulBinary.ts`. */
import { writeFile } from "node:fs/promises"
import { assembleKernels, binaryModuleText, kernelBinaryModule, matMulBinaryModule, matMulBinaryModuleText } from "./kernelAssembly.ts"

const binary = await assembleKernels()
await writeFile(kernelBinaryModule, binaryModuleText(binary))
console.log(`wrote ${kernelBinaryModule.pathname} (${binary.length} bytes of WebAssembly)`)
const matMul = await matMulBinaryModuleText()
await writeFile(matMulBinaryModule, matMul)
console.log(`wrote ${matMulBinaryModule.pathname}`)
