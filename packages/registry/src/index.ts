// The registry library: OCI distribution client, content-addressed store, layer unpacking, import.

// registry client
export {
  parseReference,
  formatReference,
  registryEndpointHost,
  manifestSelector,
  DOCKER_HUB,
} from './reference.js';
export type { ImageReference } from './reference.js';
export { RegistryError, isRegistryError, registryErrorCodes } from './client/errors.js';
export type { RegistryErrorCode } from './client/errors.js';
export { DEFAULT_PLATFORM, endpointsFor, isLoopbackHost } from './client/config.js';
export type { RegistryConfig, RegistrySettings, Platform, Endpoint } from './client/config.js';
export { RegistryClient } from './client/http.js';
export { MediaTypes, MANIFEST_ACCEPT, parseManifest, selectPlatform } from './client/manifest.js';
export type { Descriptor, ImageIndex, ImageManifest, ParsedManifest } from './client/manifest.js';
export { pull } from './client/pull.js';
export type { PullOptions, PullResult, PulledLayer } from './client/pull.js';
export type { LayerProgress, ProgressListener } from './client/progress.js';
export { ContentStore } from './store/content-store.js';
export type { StoredRef, GcOptions, GcResult, EnsureOutcome } from './store/content-store.js';
export { pushImage, pushBlob, pushManifest } from './push/push.js';
export type { PushBlob, PushManifest, PushImageInput } from './push/push.js';
// end registry client

// unpacking, import, image config
export { unpackLayers } from './unpack/unpack-layers.js';
export type { LayerBlob, UnpackOptions, UnpackResult } from './unpack/unpack-layers.js';
export { unpackImage } from './unpack/unpack-image.js';
export type { ImageLayer, UnpackImageRequest, UnpackedImage } from './unpack/unpack-image.js';
export { ImageError, isImageError } from './unpack/image-error.js';
export type { ImageErrorCode } from './unpack/image-error.js';
export { importArchive } from './import/import-archive.js';
export type { ImportOptions } from './import/import-archive.js';
export type { ImportedImage } from './import/imported-image.js';
export { DirBlobSink } from './import/store-port.js';
export type { BlobSink } from './import/store-port.js';
export { resolveProcess, resolveUser, DEFAULT_PATH } from './image-config.js';
export type { ImageConfig, AppOverrides, ProcessSpec, ProcessUser, ResolvedUser } from './image-config.js';

// the node's image store and the operator's registry settings
export { ImageStore } from './images.js';
export type {
  ImageStoreOptions,
  ImagePullOptions,
  StoredImage,
  PulledImage,
  ImageSummary,
  PruneOptions,
  PruneResult,
} from './images.js';
export {
  loadRegistryConfig,
  parseRegistryConfig,
  registryConfigSchema,
  RegistryConfigError,
  REGISTRY_CONFIG_FILE,
} from './registry-config.js';
