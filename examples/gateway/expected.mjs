// The test oracle for this example: the logger's lines, computed from the sensor's
// random walk and the filter's moving average independently of the guests (the C
// sources are sensor.c and filter.c). Used by the core, Deno and playground tests.

/** `#NN  avg D.DDD C` for each of the 40 readings, in order. */
export function expectedAverages() {
  let lcg = 12345;
  let temp = 21500;
  const win = [0, 0, 0, 0];
  const lines = [];
  for (let i = 0; i < 40; i++) {
    lcg = (Math.imul(lcg, 1664525) + 1013904223) >>> 0;
    temp += ((lcg >>> 16) % 401) - 200;
    win[i % 4] = temp;
    const k = Math.min(i + 1, 4);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += win[j];
    const avg = Math.trunc(sum / k);
    lines.push(`#${String(i).padStart(2, '0')}  avg ${Math.trunc(avg / 1000)}.${String(avg % 1000).padStart(3, '0')} C`);
  }
  return lines;
}
