-- Written by hand before the generated index: a client with more than one live session today keeps the
-- newest; the others are marked CANCELLED (their rooms' objects still record their end and usage).
UPDATE `coaching_sessions` SET `status` = 'CANCELLED'
WHERE `status` IN ('WAITING', 'ACTIVE')
  AND EXISTS (
    SELECT 1 FROM `coaching_sessions` AS `newer`
    WHERE `newer`.`client_id` = `coaching_sessions`.`client_id`
      AND `newer`.`status` IN ('WAITING', 'ACTIVE')
      AND (`newer`.`created_at` > `coaching_sessions`.`created_at`
        OR (`newer`.`created_at` = `coaching_sessions`.`created_at` AND `newer`.`id` > `coaching_sessions`.`id`))
  );--> statement-breakpoint
CREATE UNIQUE INDEX `coaching_sessions_one_live_per_client_uq` ON `coaching_sessions` (`client_id`) WHERE "coaching_sessions"."status" IN ('WAITING', 'ACTIVE');
