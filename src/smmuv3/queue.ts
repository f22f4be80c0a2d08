// SMMUv3 circular queue pointers (IHI0070 §3.5.1, §6.3.26-36): a queue of 2^log2 entries is indexed
// by PROD / CONS values whose bits [log2-1:0] are the index and bit [log2] the wrap flag. Empty: index
// and wrap equal; full: index equal, wrap different. Shared by the model (command, event and PRI
// queues) and the driver, so the protocol is written once.

/** The index bits of a queue pointer. */
export function qIndex(p: number, log2: number): number {
  return p & (2 ** log2 - 1);
}

/** The pointer after `p` (index + 1, wrap flag toggled when the index wraps), index and wrap bits only. */
export function qNext(p: number, log2: number): number {
  const size = 2 ** log2;
  const next = (p & (size - 1)) + 1;
  const wrap = p & size;
  return next === size ? wrap ^ size : wrap | next;
}

/** Index and wrap equal: nothing to consume. */
export function qEmpty(prod: number, cons: number, log2: number): boolean {
  return ((prod ^ cons) & (2 ** (log2 + 1) - 1)) === 0;
}

/** Index equal, wrap different: no room to produce. */
export function qFull(prod: number, cons: number, log2: number): boolean {
  return ((prod ^ cons) & (2 ** (log2 + 1) - 1)) === 2 ** log2;
}

/** Index and wrap bits of a pointer value (the rest of the register: flags such as OVFLG, ERR). */
export function qPtr(p: number, log2: number): number {
  return p & (2 ** (log2 + 1) - 1);
}
