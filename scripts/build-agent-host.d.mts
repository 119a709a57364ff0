// Types for scripts/build-agent-host.mjs, for TypeScript importers (e2e/, bench/).

/** agent-host/dist: where the compiled agent-host goes. */
export declare const AGENT_HOST_DIST: string;
/** Every file under `dir` whose name ends in `ext` (declaration files left out). */
export declare function filesUnder(dir: string, ext: string): string[];
/** Compiles agent-host/src and shared/src into agent-host/dist (built beside it, then swapped in); resolves to that directory. */
export declare function buildAgentHost(): Promise<string>;
