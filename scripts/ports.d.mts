// Types for scripts/ports.mjs, for TypeScript importers (e2e/, bench/).

/** A TCP port nothing listens on right now on 127.0.0.1 (the OS picks it). */
export declare function freePort(): Promise<number>;

/** Whether a TCP or UDP port is free on loopback and on all interfaces (livekit-server binds RTC ports on every interface). */
export declare function isPortFree(probe: { tcp: number } | { udp: number }): Promise<boolean>;
