/**
 * Operation ids produced by the decoder and dispatched on by the hart.
 *
 * Compressed instructions expand to the same ids as their 32-bit forms, so an
 * executor only knows one instruction set. `OP_UNDECODED` must stay 0: a fresh
 * (zero-filled) decode-cache slot then means "not decoded yet" for free.
 */
export const OP_UNDECODED = 0;
export const OP_ILLEGAL = 1;

export const OP_LUI = 2;
export const OP_AUIPC = 3;
export const OP_JAL = 4;
export const OP_JALR = 5;

export const OP_BEQ = 6;
export const OP_BNE = 7;
export const OP_BLT = 8;
export const OP_BGE = 9;
export const OP_BLTU = 10;
export const OP_BGEU = 11;

export const OP_LB = 12;
export const OP_LH = 13;
export const OP_LW = 14;
export const OP_LBU = 15;
export const OP_LHU = 16;
export const OP_SB = 17;
export const OP_SH = 18;
export const OP_SW = 19;

export const OP_ADDI = 20;
export const OP_SLTI = 21;
export const OP_SLTIU = 22;
export const OP_XORI = 23;
export const OP_ORI = 24;
export const OP_ANDI = 25;
export const OP_SLLI = 26;
export const OP_SRLI = 27;
export const OP_SRAI = 28;

export const OP_ADD = 29;
export const OP_SUB = 30;
export const OP_SLL = 31;
export const OP_SLT = 32;
export const OP_SLTU = 33;
export const OP_XOR = 34;
export const OP_SRL = 35;
export const OP_SRA = 36;
export const OP_OR = 37;
export const OP_AND = 38;

export const OP_FENCE = 39;
export const OP_FENCE_I = 40;
export const OP_ECALL = 41;
export const OP_EBREAK = 42;
export const OP_MRET = 43;
export const OP_WFI = 44;

export const OP_CSRRW = 45;
export const OP_CSRRS = 46;
export const OP_CSRRC = 47;
export const OP_CSRRWI = 48;
export const OP_CSRRSI = 49;
export const OP_CSRRCI = 50;

export const OP_MUL = 51;
export const OP_MULH = 52;
export const OP_MULHSU = 53;
export const OP_MULHU = 54;
export const OP_DIV = 55;
export const OP_DIVU = 56;
export const OP_REM = 57;
export const OP_REMU = 58;

export const OP_LR = 59;
export const OP_SC = 60;
export const OP_AMOSWAP = 61;
export const OP_AMOADD = 62;
export const OP_AMOXOR = 63;
export const OP_AMOAND = 64;
export const OP_AMOOR = 65;
export const OP_AMOMIN = 66;
export const OP_AMOMAX = 67;
export const OP_AMOMINU = 68;
export const OP_AMOMAXU = 69;

export const OP_COUNT = 70;

/**
 * Hart-internal pseudo-ops, never produced by the decoder: they live in the
 * decode cache's guard slots so that leaving a code block (falling off its
 * end, or jumping elsewhere) costs no check on the straight-line path. The id
 * follows the decoder's directly: a dense range keeps V8's switch a jump table.
 */
export const OP_BLOCK_END = 70;

/** Mnemonics by op id, for disassembly in tests and debuggers. */
export const OP_NAMES: readonly string[] = /* @__PURE__ */ [
  '(undecoded)', '(illegal)', 'lui', 'auipc', 'jal', 'jalr',
  'beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu',
  'lb', 'lh', 'lw', 'lbu', 'lhu', 'sb', 'sh', 'sw',
  'addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'slli', 'srli', 'srai',
  'add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and',
  'fence', 'fence.i', 'ecall', 'ebreak', 'mret', 'wfi',
  'csrrw', 'csrrs', 'csrrc', 'csrrwi', 'csrrsi', 'csrrci',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu',
  'lr.w', 'sc.w', 'amoswap.w', 'amoadd.w', 'amoxor.w', 'amoand.w', 'amoor.w',
  'amomin.w', 'amomax.w', 'amominu.w', 'amomaxu.w',
];
