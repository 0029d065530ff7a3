/**
 * The bench's data setup writes with the store's COPY (store/pg-copy.ts), on one pooled
 * connection per call.
 */
export { copyField, copyInto } from '../store/pg-copy';
