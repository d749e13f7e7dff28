/**
 * Per-layer progress of a pull, for the CLI and deploy events. `skipped`: the layer was already stored (or another
 * pull in this process fetched it); `downloading` repeats as bytes arrive; `done` once it is verified and stored.
 */
export interface LayerProgress {
  digest: string;
  mediaType: string;
  status: 'waiting' | 'downloading' | 'skipped' | 'done';
  /** Bytes of this layer written so far (the full size when skipped or done). */
  done: number;
  total: number;
}

export type ProgressListener = (event: LayerProgress) => void;
