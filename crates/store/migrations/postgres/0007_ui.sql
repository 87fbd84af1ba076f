-- Issue 13 (the month in the browser): the review queue offers the members with the
-- submitted row's 生年月日 (and name) as candidates; this index keeps that lookup a
-- range scan instead of a walk of the register.
CREATE INDEX members_birth ON members (insurer, birth_date);
