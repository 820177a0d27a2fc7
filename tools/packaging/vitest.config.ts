import { mergeConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.js';

// The tarballs are packed once, before the test files run (global-setup.ts), and shared by them.
export default mergeConfig(sharedConfig, { test: { name: 'packaging', globalSetup: ['./src/global-setup.ts'] } });
