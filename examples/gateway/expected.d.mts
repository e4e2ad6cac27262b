/** `#NN  avg D.DDD C` for each of the 40 readings the example gateway's logger prints, in order. */
export function expectedAverages(): string[];
