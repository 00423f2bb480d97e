// The separator between diff comment bodies on stdout; the packing itself is src/render/comments.ts.

/** Separates comment bodies on stdout; a CI step posts each part as its own comment. */
export const DIFF_PART_SEPARATOR = '\n<!-- iact-diff: next comment -->\n\n';
