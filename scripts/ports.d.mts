// Types for scripts/ports.mjs, for TypeScript importers (e2e/, bench/).

/** Whether a TCP or UDP port is free on loopback and on all interfaces (livekit-server binds RTC ports on every interface). */
export declare function isPortFree(probe: { tcp: number } | { udp: number }): Promise<boolean>;
