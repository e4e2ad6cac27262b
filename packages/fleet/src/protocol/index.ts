export * from './errors.ts';
export * from './topics.ts';
export * from './schema.ts';
export * from './codec.ts';
export * from './sign.ts';
