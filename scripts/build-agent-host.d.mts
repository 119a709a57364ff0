// Types for scripts/build-agent-host.mjs, for TypeScript importers (e2e/, bench/).

/** agent-host/dist: where the compiled agent-host goes. */
export declare const AGENT_HOST_DIST: string;
/** Compiles agent-host/src and shared/src into agent-host/dist (emptied first); resolves to that directory. */
export declare function buildAgentHost(): Promise<string>;
