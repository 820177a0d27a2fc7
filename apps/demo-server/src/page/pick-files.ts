/** What the page needs of a picked or dropped file (a File, or its name and size in a test). */
export interface PickedFile {
  readonly name: string;
  readonly size: number;
}

/** The model among picked files and its external data files, or why the page cannot take them. */
export type Picked<F extends PickedFile> = { model: F; sideFiles: F[] } | { error: string };

/**
 * The largest model the page takes: core's PROTOBUF_LIMIT (pick-files.test.ts holds them equal), not
 * imported, since core's entry point would bring its protobuf code into the page's small script.
 */
export const PAGE_MODEL_LIMIT = 2 ** 31 - 1;

const gb = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GB`;

/**
 * The model the page should run from the files given at once: one file alone, or the one .onnx file
 * among its external data files. Refused, with what to do instead: no .onnx file, several, and models
 * the page cannot hold. The worker makes every variant in memory with the weights inlined, so the model
 * and its data files together must fit one protobuf message (2 GiB), as each variant must; larger
 * models go through the CLI, whose fp16 and quantize stream weights from external data.
 */
export function pickModel<F extends PickedFile>(files: readonly F[]): Picked<F> {
  const models = files.filter((f) => /\.onnx$/i.test(f.name));
  const model = files.length === 1 ? files[0] : models.length === 1 ? models[0] : undefined;
  if (!model) {
    const names = files.map((f) => f.name).join(', ');
    return {
      error: models.length
        ? `${models.length} models were given at once (${names}): pick one .onnx file, with its external data files if it has any`
        : `none of the files given (${names}) is an .onnx model: pick one, with its external data files if it has any`,
    };
  }
  const sideFiles = files.filter((f) => f !== model);
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total > PAGE_MODEL_LIMIT) {
    const what = sideFiles.length ? `${model.name} and its data files hold ${gb(total)}` : `${model.name} is ${gb(total)}`;
    return {
      error: `${what}, more than the page can take: it makes the variants in memory, each in one piece, and an ONNX model in one piece stops at 2 GB (protobuf's limit). ` +
        'Make them with the CLI, which streams weights kept in external data: onnx-forge fp16 and onnx-forge quantize (--help for each)',
    };
  }
  return { model, sideFiles };
}
