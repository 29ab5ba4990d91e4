CREATE INDEX "custom_emoji_remote_url_idx" ON "custom_emoji" USING btree ("remote_url");--> statement-breakpoint
CREATE INDEX "custom_emoji_host_idx" ON "custom_emoji" USING btree ("host");