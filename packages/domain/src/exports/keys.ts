/** Storage layout of exports, in one place: `exports/<export id>/part-<n>.zip`. */
export const exportStoragePrefix = (exportId: string): string => `exports/${exportId}/`;

export const exportPartKey = (exportId: string, index: number): string =>
  `${exportStoragePrefix(exportId)}part-${index}.zip`;
