'use strict';
module.exports = {
  passPackageGenerator: require('./generators/pass-package/generator.cjs').default,
  libraryGenerator: require('./generators/library/generator.cjs').default,
};
