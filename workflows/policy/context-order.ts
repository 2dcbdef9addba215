// Models attend best to the start and the end of their context ("lost in the middle",
// Liu et al., 2023), so the strongest passages go there and the weakest in the middle:
// ranks 1, 3, 5, … fill from the front, ranks 2, 4, 6, … from the back.
export function orderForAttention<T>(rankedBestFirst: readonly T[]): T[] {
  const front: T[] = [];
  const back: T[] = [];
  rankedBestFirst.forEach((item, i) => (i % 2 === 0 ? front.push(item) : back.unshift(item)));
  return [...front, ...back];
}
