-- What other servers send that the inbox does not handle, counted per server (issue 15).
-- See recordRefusal in src/servers.ts.
CREATE TABLE "inbox_refusals" (
	"host" text NOT NULL,
	"code" text NOT NULL,
	"type" text NOT NULL,
	"count" bigint DEFAULT 1 NOT NULL,
	"first_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inbox_refusals_host_code_type_pk" PRIMARY KEY("host","code","type")
);
