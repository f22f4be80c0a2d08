// The MMIO boundary between software and a hardware model: what a driver may do to a device's
// register file. Models implement it; drivers hold only this (never a model's class), so the two
// meet at registers, memory and the queues, as on real hardware.

export interface Mmio {
  read32(offset: number): number;
  write32(offset: number, value: number): void;
  read64(offset: number): bigint;
  write64(offset: number, value: bigint): void;
}
