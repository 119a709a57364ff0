// Types for scripts/schemathesis.mjs, for TypeScript importers (e2e/api-fuzz.test.ts).

/** The pinned schemathesis version installed into .tools when SCHEMATHESIS_BIN is not set. */
export declare const SCHEMATHESIS_VERSION: string;

/** Absolute path of the schemathesis CLI; installs the pinned version into .tools the first time. */
export declare function ensureSchemathesis(): string;
