/**
 * Fashion-MNIST's class names, apart from the file loader (fashion-mnist.ts, Node only) so a page
 * that fetches the IDX files and parses them with `parseIdx` can label them without pulling in
 * node:fs.
 */

/** Fashion-MNIST's classes, index = label (Xiao et al. 2017). */
export const FASHION_MNIST_CLASSES: readonly string[] = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
