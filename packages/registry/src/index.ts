// The registry library: OCI distribution client, content-addressed store, layer unpacking, import.
export {};
