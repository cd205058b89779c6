export type X = { a: number };
export const hello = (x: X): number => x.a;
