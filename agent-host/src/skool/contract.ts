/** The Skool sync's wire shapes, defined once beside the Worker's rules. */
export * from '../../../workers/src/domain/skool-sync-contract';
