CREATE TABLE "thread_reads" (
	"actor_id" uuid NOT NULL,
	"root_id" uuid NOT NULL,
	"last_read_seq" bigint NOT NULL,
	CONSTRAINT "thread_reads_actor_id_root_id_pk" PRIMARY KEY("actor_id","root_id")
);
--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "thread_root_id" uuid;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "also_in_room" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "thread_reads" ADD CONSTRAINT "thread_reads_actor_id_actors_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."actors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "thread_reads" ADD CONSTRAINT "thread_reads_root_id_messages_id_fk" FOREIGN KEY ("root_id") REFERENCES "public"."messages"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "messages_thread_idx" ON "messages" USING btree ("thread_root_id","seq");--> statement-breakpoint
-- Threads (issue 16): fedchat_send_messages (migration 0010) again, with two more fields per
-- item, written with the message, and the thread's participants notified in the same insert
-- as mentions and replies, so a thread reply costs no statement more than any other send.
-- Writes a batch of sends in the caller's transaction. `batch` is a JSON array of items:
--   i            the item's index, echoed back
--   id           the new message's id (a UUIDv7 made by the caller)
--   roomId, authorId, txnId, content, html, replyTo (or null), createdAt (ISO 8601)
--   threadRootId the first message of the thread it replies in (or null), alsoInRoom (boolean)
--   attachments  uploads of the author the message takes (uuid strings, no repeats)
--   mentioned    local actors the message mentions (uuid strings)
--   replyAuthor  the author of the message answered, if it is not deleted (or null)
--   direct       whether the room is a direct conversation (notification level `all` by default)
--   snippet      the text notifications show
--   author       the author's profile, as notification views show it
--   view         the message as the stream shows it, without `seq`
-- For each item, in order: `not_a_member` (the room is gone or the author is not a member),
-- `retried` with the id and number of the message an earlier send of the same txnId made,
-- `attachments_taken` (an attachment is not, or no longer, a free upload of the author), or
-- `created` with the new number. An item that is not created writes nothing. The rooms are locked in id order first, so concurrent batches
-- never deadlock and numbers follow commit order; the stream position is taken last, once.
CREATE OR REPLACE FUNCTION fedchat_send_messages(batch jsonb)
RETURNS TABLE (r_idx integer, r_id uuid, r_seq bigint, r_outcome text)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  item jsonb;
  v_room uuid;
  v_author uuid;
  v_id uuid;
  v_seq bigint;
  v_created timestamptz;
  v_files uuid[];
  v_free integer;
  v_default text;
  v_events jsonb := '[]'::jsonb;
  v_notes jsonb;
  v_count integer;
  v_last bigint;
  v_thread uuid;
BEGIN
  PERFORM 1 FROM rooms r
   WHERE r.id IN (SELECT (e->>'roomId')::uuid FROM jsonb_array_elements(batch) e)
   ORDER BY r.id
   FOR UPDATE;

  FOR item IN SELECT e.value FROM jsonb_array_elements(batch) WITH ORDINALITY e ORDER BY e.ordinality LOOP
    r_idx := (item->>'i')::integer;
    v_room := (item->>'roomId')::uuid;
    v_author := (item->>'authorId')::uuid;
    v_id := (item->>'id')::uuid;
    v_created := (item->>'createdAt')::timestamptz;
    v_thread := (item->>'threadRootId')::uuid;

    IF NOT EXISTS (
      SELECT 1 FROM rooms r JOIN room_members m ON m.room_id = r.id AND m.actor_id = v_author
       WHERE r.id = v_room AND r.deleted_at IS NULL
    ) THEN
      r_id := NULL; r_seq := NULL; r_outcome := 'not_a_member';
      RETURN NEXT;
      CONTINUE;
    END IF;

    SELECT m.id, m.seq INTO r_id, r_seq FROM messages m
     WHERE m.room_id = v_room AND m.author_id = v_author AND m.txn_id = item->>'txnId';
    IF FOUND THEN
      r_outcome := 'retried';
      RETURN NEXT;
      CONTINUE;
    END IF;

    v_files := ARRAY(SELECT x::uuid FROM jsonb_array_elements_text(item->'attachments') x);
    IF cardinality(v_files) > 0 THEN
      -- Locked, so a concurrent send of the same uploads waits and then finds them taken.
      SELECT count(*) INTO v_free FROM (
        SELECT 1 FROM attachments a
         WHERE a.id = ANY (v_files) AND a.owner_id = v_author AND a.message_id IS NULL AND a.outbound_id IS NULL
         FOR UPDATE
      ) free;
      IF v_free <> cardinality(v_files) THEN
        r_id := NULL; r_seq := NULL; r_outcome := 'attachments_taken';
        RETURN NEXT;
        CONTINUE;
      END IF;
    END IF;

    UPDATE rooms r SET last_seq = r.last_seq + 1, updated_at = now()
     WHERE r.id = v_room RETURNING r.last_seq INTO v_seq;
    INSERT INTO messages (id, room_id, seq, author_id, txn_id, content, html, reply_to, created_at,
                          thread_root_id, also_in_room)
    VALUES (v_id, v_room, v_seq, v_author, item->>'txnId', item->>'content', item->>'html',
            (item->>'replyTo')::uuid, v_created, v_thread, coalesce((item->>'alsoInRoom')::boolean, false));
    IF cardinality(v_files) > 0 THEN
      UPDATE attachments a SET message_id = v_id WHERE a.id = ANY (v_files);
    END IF;

    -- Sending reads everything before it.
    UPDATE room_members m SET last_read_seq = greatest(m.last_read_seq, v_seq)
     WHERE m.room_id = v_room AND m.actor_id = v_author;

    -- Mentions of members who do not block the author.
    INSERT INTO message_mentions (message_id, actor_id, room_id, seq)
    SELECT v_id, m.actor_id, v_room, v_seq FROM room_members m
     WHERE m.room_id = v_room
       AND m.actor_id IN (SELECT x::uuid FROM jsonb_array_elements_text(item->'mentioned') x)
       AND m.actor_id <> v_author
       AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = m.actor_id AND b.blocked_id = v_author)
    ON CONFLICT DO NOTHING;

    v_events := v_events || jsonb_build_array(jsonb_build_object(
      'roomId', v_room, 'type', 'message.created',
      'data', jsonb_build_object('message', (item->'view') || jsonb_build_object('seq', v_seq))));

    -- Notifications, as notifyMessage in src/notifications/notifications.ts decides them.
    v_default := CASE WHEN (item->>'direct')::boolean THEN 'all' ELSE 'mentions' END;
    WITH written AS (
      INSERT INTO notifications (id, actor_id, type, from_id, room_id, message_id, data, created_at)
      SELECT fedchat_uuidv7(), rm.actor_id,
             CASE WHEN rm.actor_id = (item->>'replyAuthor')::uuid THEN 'reply'
                  WHEN mm.actor_id IS NOT NULL THEN 'mention'
                  WHEN tp.actor_id IS NOT NULL THEN 'thread'
                  ELSE 'message' END,
             v_author, v_room, v_id,
             jsonb_build_object('seq', v_seq, 'snippet', item->>'snippet'), v_created
        FROM room_members rm
        JOIN actors a ON a.id = rm.actor_id AND a.user_id IS NOT NULL
        LEFT JOIN message_mentions mm ON mm.message_id = v_id AND mm.actor_id = rm.actor_id
        -- Threads: the root's author and everyone who replied in it before take part.
        LEFT JOIN LATERAL (
          SELECT t.author_id AS actor_id FROM messages t
           WHERE v_thread IS NOT NULL AND (t.id = v_thread OR t.thread_root_id = v_thread)
             AND t.author_id = rm.actor_id AND t.id <> v_id
           LIMIT 1
        ) tp ON true
       WHERE rm.room_id = v_room AND rm.actor_id <> v_author AND NOT rm.muted
         AND coalesce(rm.notification_level, v_default) <> 'none'
         AND (coalesce(rm.notification_level, v_default) = 'all'
              OR mm.actor_id IS NOT NULL
              OR tp.actor_id IS NOT NULL
              OR rm.actor_id = (item->>'replyAuthor')::uuid)
         AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = rm.actor_id AND b.blocked_id = v_author)
       ORDER BY rm.actor_id
      ON CONFLICT DO NOTHING
      RETURNING *
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'actorId', w.actor_id, 'type', 'notification',
             'data', jsonb_build_object('notification', jsonb_build_object(
               'id', w.id, 'type', w.type, 'actor', item->'author', 'roomId', w.room_id,
               'messageId', w.message_id, 'data', w.data, 'read', false,
               'createdAt', item->>'createdAt')))), '[]'::jsonb)
      INTO v_notes FROM written w;
    v_events := v_events || v_notes;

    r_id := v_id; r_seq := v_seq; r_outcome := 'created';
    RETURN NEXT;
  END LOOP;

  v_count := jsonb_array_length(v_events);
  IF v_count > 0 THEN
    UPDATE stream_position p SET position = p.position + v_count WHERE p.id = 1
    RETURNING p.position INTO v_last;
    INSERT INTO events (position, room_id, actor_id, type, data)
    SELECT v_last - v_count + e.ordinality, (e.value->>'roomId')::uuid, (e.value->>'actorId')::uuid,
           e.value->>'type', e.value->'data'
      FROM jsonb_array_elements(v_events) WITH ORDINALITY e;
    PERFORM pg_notify('fedchat_events', v_last::text);
  END IF;
END
$$;
