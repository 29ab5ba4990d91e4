/**
 * Names that look alike: "Аlice" with a Cyrillic А and "Alice", "paypal" and "рауpal". Loaded
 * only when a room's members are shown (`names.tsx`), as the confusables table is about as
 * large, gzipped, as the rest of the client.
 */
import unhomoglyph from "unhomoglyph";

/** Shows nothing, so two names that differ only by these look the same. */
const ignorable = /\p{Default_Ignorable_Code_Point}/gu;

/**
 * What a name looks like, after UTS #39's skeleton (NFD, each character replaced by its
 * prototype from Unicode's confusables table, NFD again), extended so that names that differ
 * by invisible characters or spacing compare equal too, and so do most that differ by case.
 * The prototypes are mapped before lowercasing, as "I" and "l" share one and "i" and "l" do
 * not (so "ALICE" stays apart from "Alice": its I is an l), and again after, as lowercasing
 * can give a character with a prototype of its own.
 */
export function skeleton(name: string): string {
  const bare = name.normalize("NFD").replace(ignorable, "").replace(/\s+/gu, " ").trim();
  return unhomoglyph(unhomoglyph(bare).toLowerCase()).toLowerCase().normalize("NFD");
}

/** Someone shown in a room: their actor's id and the name the room shows for them. */
export interface Shown {
  readonly id: string;
  readonly name: string;
}

/**
 * An index of who looks like whom: for each skeleton, the ids of the people whose name has
 * it. Built once per member list; asked for each name shown.
 */
export class Lookalikes {
  readonly #byLook = new Map<string, Set<string>>();
  readonly #skeletons = new Map<string, string>();

  constructor(people: Iterable<Shown>) {
    for (const person of people) {
      const look = this.#skeletonOf(person.name);
      const ids = this.#byLook.get(look) ?? new Set<string>();
      ids.add(person.id);
      this.#byLook.set(look, ids);
    }
  }

  /**
   * Whether this person's name looks like the name of someone else in the index (the person
   * need not be in it: an author who left the room is compared with those still there).
   */
  has(id: string, name: string): boolean {
    const ids = this.#byLook.get(this.#skeletonOf(name));
    if (!ids) return false;
    for (const other of ids) if (other !== id) return true;
    return false;
  }

  /** Skeletons are asked for the same few names on every render: computed once each. */
  #skeletonOf(name: string): string {
    let look = this.#skeletons.get(name);
    if (look === undefined) {
      look = skeleton(name);
      this.#skeletons.set(name, look);
    }
    return look;
  }
}
