/**
 * An unreadable or malformed data file: core's `DataError` (safetensors files raise it too), so
 * one `instanceof DataError` catches every bad file whichever package read it.
 */
export { DataError } from '@dino-ts/core';
