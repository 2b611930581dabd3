import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { expectData, postGraphQL, registerTestAccount, startPlatform } from '@courier/testing';
import { Upload } from 'tus-js-client';
import { writeResults } from './load.ts';

/**
 * Attachment throughput: a TUS upload (tus-js-client, `BENCH_CHUNK_MIB` chunks, local file
 * storage) and a full download (`GET /attachments/<key>`) of `BENCH_SIZE_MIB` of random bytes,
 * against plain file copies of the same size on the same disk in the same run (`fs.copyFile`,
 * and a read-stream → write-stream copy, which is what the server's file store does). Forms come
 * through the gateway; the bytes go straight to the attachments service, as clients send them to
 * a CDN. Median of `BENCH_RUNS` runs. Prints the figures and writes
 * `bench/results/attachments.json`.
 */
const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env['BENCH_SIZE_MIB'] ?? 64);
const CHUNK_MIB = Number(process.env['BENCH_CHUNK_MIB'] ?? 8);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const FORM = `mutation ($n: Float!) { createAttachmentUploadForm(uploadLength: $n) {
  key uploadUrl headers { name value } } }`;

interface Form {
  key: string;
  uploadUrl: string;
  headers: { name: string; value: string }[];
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mibPerSecond = (ms: number) => Math.round((SIZE_MIB / (ms / 1000)) * 10) / 10;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

function upload(data: Buffer, form: Form): Promise<void> {
  return new Promise((resolve, reject) => {
    new Upload(data, {
      endpoint: form.uploadUrl,
      headers: Object.fromEntries(form.headers.map((h) => [h.name, h.value])),
      chunkSize: CHUNK_MIB * MiB,
      retryDelays: [],
      onSuccess: () => resolve(),
      onError: reject,
    }).start();
  });
}

async function download(url: string): Promise<number> {
  const response = await fetch(url);
  if (response.status !== 200 || !response.body) throw new Error(`download: ${response.status}`);
  const reader = response.body.getReader();
  let bytes = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    bytes += next.value.byteLength;
  }
  return bytes;
}

const dir = await mkdtemp(path.join(tmpdir(), 'courier-bench-attachments-'));
const platform = await startPlatform({ attachments: { storageDir: path.join(dir, 'store') } });
try {
  const account = await registerTestAccount(platform, '+14155557000');
  const data = randomBytes(SIZE_MIB * MiB);
  const source = path.join(dir, 'source.bin');
  await writeFile(source, data);
  const samples = {
    copyFile: [] as number[],
    streamCopy: [] as number[],
    upload: [] as number[],
    download: [] as number[],
  };
  for (let run = 0; run < RUNS; run++) {
    samples.copyFile.push(await timed(() => copyFile(source, path.join(dir, `copy-${run}.bin`))));
    samples.streamCopy.push(
      await timed(() =>
        pipeline(createReadStream(source), createWriteStream(path.join(dir, `stream-${run}.bin`))),
      ),
    );
    const form = expectData<{ createAttachmentUploadForm: Form }>(
      await postGraphQL(platform.gatewayUrl, FORM, {
        token: account.token,
        variables: { n: data.length },
      }),
      'createAttachmentUploadForm',
    ).createAttachmentUploadForm;
    samples.upload.push(await timed(() => upload(data, form)));
    const url = `${platform.attachments.publicUrl}/attachments/${form.key}`;
    samples.download.push(
      await timed(async () => {
        if ((await download(url)) !== data.length) throw new Error('short download');
      }),
    );
  }
  const figures = Object.fromEntries(
    Object.entries(samples).map(([name, ms]) => [
      name,
      { medianMs: Math.round(median(ms)), mibPerSecond: mibPerSecond(median(ms)) },
    ]),
  ) as Record<keyof typeof samples, { medianMs: number; mibPerSecond: number }>;
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  const ratios = {
    uploadToCopyFile: ratio(figures.upload.mibPerSecond, figures.copyFile.mibPerSecond),
    uploadToStreamCopy: ratio(figures.upload.mibPerSecond, figures.streamCopy.mibPerSecond),
    downloadToCopyFile: ratio(figures.download.mibPerSecond, figures.copyFile.mibPerSecond),
    downloadToStreamCopy: ratio(figures.download.mibPerSecond, figures.streamCopy.mibPerSecond),
  };
  for (const [name, figure] of Object.entries(figures)) {
    console.log(
      `${name.padEnd(12)} ${String(figure.mibPerSecond).padStart(8)} MiB/s  (median ${figure.medianMs} ms)`,
    );
  }
  console.log(ratios);
  await writeResults('attachments', {
    sizeMiB: SIZE_MIB,
    chunkMiB: CHUNK_MIB,
    runs: RUNS,
    storage: 'local files (@tus/file-store)',
    results: figures,
    ratios,
  });
} finally {
  await platform.stop();
  await rm(dir, { recursive: true, force: true });
}
