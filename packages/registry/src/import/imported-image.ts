export interface ImportedImage {
  /** The manifest (or index) digest, as the store now holds it. */
  digest: string;
  mediaType: string;
  /** The name the archive gave it, if any (already passed to BlobSink.setRef). */
  ref?: string;
}
