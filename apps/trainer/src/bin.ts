#!/usr/bin/env node
import { main } from './cli';

// Exit explicitly: a backend may keep handles open after the work is done.
main(process.argv.slice(2)).then((code) => process.exit(code));
