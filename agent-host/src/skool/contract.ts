/** The Skool sync's wire shapes, defined once beside the Worker's rules. */
export * from '@hybrid-coach/shared/skool-sync-contract';
