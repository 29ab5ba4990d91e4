/**
 * Images that may move: an animated GIF or WebP plays, except for people who asked their
 * system for reduced motion, who get its still first frame (`prefers-reduced-motion`).
 */

export function MotionImage(props: {
  src: string;
  /** The first frame of an animated image; absent for a still one. */
  still?: string | undefined;
  alt: string;
  class?: string;
  title?: string;
  loading?: "lazy" | "eager";
  width?: number | undefined;
  height?: number | undefined;
  onError?: () => void;
}) {
  const { src, still, alt, ...rest } = props;
  const image = <img src={src} alt={alt} {...rest} />;
  if (!still) return image;
  return (
    <picture>
      <source media="(prefers-reduced-motion: reduce)" srcset={still} />
      {image}
    </picture>
  );
}
