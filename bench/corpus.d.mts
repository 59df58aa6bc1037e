/** Writes about `count` documents into `dir`, 100 documents a file. */
export declare const writeCorpus: (dir: string, count: number) => { documents: number; bytes: number };
