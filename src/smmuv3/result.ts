// The outcome of one transaction, as the DMA API returns it: a status code, and the details in one
// reused TxResult (no allocation per access).

/** Transaction outcome (TxResult.status). */
export const ST_OK = 0;
/** Terminated with an abort (with or without an event: see `event` / `recorded`). */
export const ST_ABORT = 1;
/** Stalled: waiting for CMD_RESUME / CMD_STALL_TERM (`stag` names it). */
export const ST_STALL = 2;
/** Terminated as RAZ/WI (CD.A = 0 with IDR0.TERM_MODEL = 0). */
export const ST_RAZWI = 3;

export class TxResult {
  status = 0;
  /** Output physical address (Number, < 2^52). */
  pa = 0;
  /** Permission mask of the translation (P_* / U_* bits from walk.ts), all-ones for bypass. */
  perm = 0;
  /** EventID of the fault (0 = none), whether it was written to the event queue. */
  event = 0;
  recorded = false;
  stag = 0;
}
