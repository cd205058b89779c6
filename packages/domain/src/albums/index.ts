export { addAssetsToAlbum, addAssetsToAlbums, listAlbumAssets, removeAssetsFromAlbum } from './album-assets.ts';
export { type AlbumDtoParts, type AlbumDtoRow, toAlbumResponseDto } from './dto.ts';
export { addAlbumMembers, isLeavingAlbum, removeAlbumMember, updateAlbumMemberRole } from './members.ts';
export { type AlbumCaller, albumFilterFromQuery, albumStatistics, getAlbumDto, listAlbumDtos } from './queries.ts';
export { createAlbum, deleteAlbum, updateAlbum } from './service.ts';
